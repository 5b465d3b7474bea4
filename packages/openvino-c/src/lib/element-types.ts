import { OpenVinoArgumentError } from '../errors.js';

/** Typed arrays a tensor can wrap or return. */
export type TensorArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** Element type names, as openvino-node spells them (plus the half-precision and boolean types). */
export type ElementTypeName = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64' | 'f16' | 'bf16' | 'f32' | 'f64' | 'boolean';

/** openvino-node's `element` enum: its numbers are accepted wherever a type name is. */
export const element = {
  u8: 0,
  u32: 1,
  u16: 2,
  u64: 3,
  i8: 4,
  i16: 5,
  i32: 6,
  i64: 7,
  f32: 8,
  f64: 9,
} as const;

interface ElementType {
  readonly name: ElementTypeName;
  /** `ov_element_type_e`. */
  readonly native: number;
  readonly bytes: number;
  /** The typed array its data is returned as (f16/bf16 as raw Uint16Array, boolean as Uint8Array). */
  readonly array: new (buffer: ArrayBufferLike, byteOffset?: number, length?: number) => TensorArray;
}

// ov_element_type_e values (openvino/c/ov_common.h) of current releases: DYNAMIC 0, BOOLEAN 1,
// BF16 2, F16 3, F32 4, F64 5, I4 6, I8 7, I16 8, I32 9, I64 10, U1 11, U2 12, U3 13, U4 14, U6 15,
// U8 16, U16 17, U32 18, U64 19. Releases up to 2025 had UNDEFINED = 0 first, so every value is one
// higher there: the runtime measures which numbering it has (Runtime.elementOffset) and passes it.
const TYPES: readonly ElementType[] = [
  { name: 'boolean', native: 1, bytes: 1, array: Uint8Array },
  { name: 'bf16', native: 2, bytes: 2, array: Uint16Array },
  { name: 'f16', native: 3, bytes: 2, array: Uint16Array },
  { name: 'f32', native: 4, bytes: 4, array: Float32Array },
  { name: 'f64', native: 5, bytes: 8, array: Float64Array },
  { name: 'i8', native: 7, bytes: 1, array: Int8Array },
  { name: 'i16', native: 8, bytes: 2, array: Int16Array },
  { name: 'i32', native: 9, bytes: 4, array: Int32Array },
  { name: 'i64', native: 10, bytes: 8, array: BigInt64Array },
  { name: 'u8', native: 16, bytes: 1, array: Uint8Array },
  { name: 'u16', native: 17, bytes: 2, array: Uint16Array },
  { name: 'u32', native: 18, bytes: 4, array: Uint32Array },
  { name: 'u64', native: 19, bytes: 8, array: BigUint64Array },
];

const byName = new Map(TYPES.map((type) => [type.name, type]));
const byNative = new Map(TYPES.map((type) => [type.native, type]));
const nodeEnumNames = new Map(Object.entries(element).map(([name, value]) => [value as number, name as ElementTypeName]));

/** Resolves a type name or openvino-node `element` number. */
export function elementType(type: ElementTypeName | number | string): ElementType {
  const name = typeof type === 'number' ? nodeEnumNames.get(type) : (type as ElementTypeName);
  const found = name === undefined ? undefined : byName.get(name);
  if (found === undefined) throw new OpenVinoArgumentError(`unsupported element type ${JSON.stringify(type)}`);
  return found;
}

/** The `ov_element_type_e` of a type in a runtime whose numbering is shifted by `offset`. */
export function nativeCode(type: ElementType, offset: number): number {
  return type.native + offset;
}

/** The element type of an `ov_element_type_e`, or `undefined` for types with no typed array (u4, nf4, …). */
export function elementTypeOfNative(native: number, offset: number): ElementType | undefined {
  return byNative.get(native - offset);
}

/** The type's name, or `ov_element_type_e(N)` for one with no typed array here. */
export function nativeTypeName(native: number, offset: number): string {
  return elementTypeOfNative(native, offset)?.name ?? `ov_element_type_e(${native})`;
}

/** `f64` in the current numbering: 8 bytes here, 4 (f32) in the shifted one. Used to tell them apart. */
export const PROBE_F64 = { native: 5, currentBytes: 8, shiftedBytes: 4 } as const;

/** Checks that `data` is a typed array this element type can wrap without conversion. */
export function assertArrayFits(type: ElementType, data: ArrayBufferView, elements: number): void {
  const bytes = elements * type.bytes;
  if (data.byteLength !== bytes) {
    throw new OpenVinoArgumentError(`a ${type.name} tensor of ${elements} elements needs ${bytes} bytes; the array has ${data.byteLength}`);
  }
  const elementSize = (data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  if (elementSize !== 1 && elementSize !== type.bytes) {
    throw new OpenVinoArgumentError(`a ${data.constructor.name} cannot hold ${type.name} elements`);
  }
}
