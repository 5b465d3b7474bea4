import koffi from 'koffi';
import { OpenVinoArgumentError } from './errors.js';
import type { Pointer } from './lib/bindings.js';
import {
  assertArrayFits,
  elementType,
  elementTypeOfNative,
  nativeCode,
  nativeTypeName,
  type ElementTypeName,
  type TensorArray,
} from './lib/element-types.js';
import { NativeHandle } from './lib/native-handle.js';
import type { Runtime } from './lib/runtime.js';

/**
 * An OpenVINO tensor (`ov_tensor_t`). Built over a typed array it **wraps that memory without a
 * copy** (`ov_tensor_create_from_host_ptr`) and keeps the array alive for as long as the tensor,
 * and any model or request that holds it, lives. Built from a type and shape alone, OpenVINO
 * allocates its memory.
 *
 * Reading `data` returns a copy for memory OpenVINO owns (an output tensor's memory belongs to its
 * request and changes on the next inference), and the wrapped array itself otherwise.
 *
 * @example
 * ```ts
 * import { loadOpenVinoC } from '@ovseal/openvino-c';
 *
 * const ov = await loadOpenVinoC();
 * const weights = new Uint8Array(bytes);                      // the memory OpenVINO will read
 * const tensor = new ov.Tensor('u8', [weights.length], weights); // no copy
 * ```
 */
export class Tensor extends NativeHandle {
  readonly #runtime: Runtime;
  /** The wrapped JS array, when the tensor was built over one. */
  readonly #wrapped: TensorArray | undefined;

  /** @internal Use `new ov.Tensor(...)` of a loaded runtime. */
  constructor(runtime: Runtime, type: ElementTypeName | number | string, shape: readonly number[], data?: ArrayBufferView);
  /** @internal Adopts a handle OpenVINO returned (an output tensor). */
  constructor(runtime: Runtime, handle: { adopt: Pointer; keepAlive?: readonly unknown[] });
  constructor(
    runtime: Runtime,
    typeOrHandle: ElementTypeName | number | string | { adopt: Pointer; keepAlive?: readonly unknown[] },
    shape?: readonly number[],
    data?: ArrayBufferView,
  ) {
    const release = (pointer: Pointer) => runtime.fns.ov_tensor_free(pointer);
    if (typeof typeOrHandle === 'object') {
      super(typeOrHandle.adopt, release, 'tensor', typeOrHandle.keepAlive);
      this.#runtime = runtime;
      this.#wrapped = undefined;
      return;
    }
    const type = elementType(typeOrHandle);
    const dims = checkShape(shape);
    const elements = dims.reduce((a, b) => a * b, 1);
    let wrapped: TensorArray | undefined;
    let pointer: Pointer;
    if (data !== undefined) {
      assertArrayFits(type, data, elements);
      wrapped = asTypedArray(type.array, data);
    }
    if (data === undefined || data.byteLength === 0) {
      // OpenVINO refuses a NULL host pointer: an empty tensor gets (zero bytes of) its own memory.
      pointer = runtime.withShape(dims, (nativeShape) =>
        runtime.out(runtime.fns.ov_tensor_create, 'ov_tensor_create', nativeCode(type, runtime.elementOffset), nativeShape),
      );
    } else {
      const address = koffi.address(data);
      pointer = runtime.withShape(dims, (nativeShape) =>
        runtime.out(
          runtime.fns.ov_tensor_create_from_host_ptr,
          'ov_tensor_create_from_host_ptr',
          nativeCode(type, runtime.elementOffset),
          nativeShape,
          address,
        ),
      );
    }
    super(pointer, release, 'tensor', wrapped === undefined ? [] : [wrapped]);
    this.#runtime = runtime;
    this.#wrapped = wrapped;
  }

  /** The element type's name (`f32`, `u8`, `i64`, …). */
  getElementType(): string {
    const type = [0];
    this.#runtime.check(this.#runtime.fns.ov_tensor_get_element_type(this.pointer, type as [number]), 'ov_tensor_get_element_type');
    return nativeTypeName(type[0]!, this.#runtime.elementOffset);
  }

  getShape(): number[] {
    const shape = {} as Parameters<Runtime['takeShape']>[0];
    const status = this.#runtime.fns.ov_tensor_get_shape(this.pointer, shape);
    // The C API cannot return a rank-0 shape (ov_shape_create refuses rank 0): a scalar answers
    // INVALID_C_PARAM (-14). Its byte size, one element, tells it apart from a real failure.
    if (status === -14 && this.#isOneElement()) return [];
    this.#runtime.check(status, 'ov_tensor_get_shape');
    return this.#runtime.takeShape(shape);
  }

  /** Number of elements. */
  getSize(): number {
    return this.getShape().reduce((a, b) => a * b, 1);
  }

  /** The elements as a typed array: the wrapped array itself, or a copy of OpenVINO's memory. */
  get data(): TensorArray {
    if (this.#wrapped !== undefined) return this.#wrapped;
    const view = this.#nativeView();
    return new view.array(view.bytes.slice().buffer);
  }

  /** Copies `values` into the tensor's memory (same byte size). */
  set data(values: ArrayBufferView) {
    const view = this.#nativeView();
    if (values.byteLength !== view.bytes.byteLength) {
      throw new OpenVinoArgumentError(`the tensor holds ${view.bytes.byteLength} bytes; got ${values.byteLength}`);
    }
    view.bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  getData(): TensorArray {
    return this.data;
  }

  #isOneElement(): boolean {
    const { fns } = this.#runtime;
    const native = [0];
    const size: [number | bigint] = [0];
    if (fns.ov_tensor_get_element_type(this.pointer, native as [number]) !== 0) return false;
    if (fns.ov_tensor_get_byte_size(this.pointer, size) !== 0) return false;
    const type = elementTypeOfNative(native[0]!, this.#runtime.elementOffset);
    return type !== undefined && Number(size[0]) === type.bytes;
  }

  /** A view of the native memory, valid only until the next call into OpenVINO: never returned. */
  #nativeView() {
    const { fns } = this.#runtime;
    const native = [0];
    this.#runtime.check(fns.ov_tensor_get_element_type(this.pointer, native as [number]), 'ov_tensor_get_element_type');
    const type = elementTypeOfNative(native[0]!, this.#runtime.elementOffset);
    if (type === undefined)
      throw new OpenVinoArgumentError(`no typed array holds ${nativeTypeName(native[0]!, this.#runtime.elementOffset)} elements`);
    const size: [number | bigint] = [0];
    this.#runtime.check(fns.ov_tensor_get_byte_size(this.pointer, size), 'ov_tensor_get_byte_size');
    const bytes = Number(size[0]);
    if (bytes === 0) return { array: type.array, bytes: new Uint8Array(0) };
    const address = this.#runtime.out(fns.ov_tensor_data, 'ov_tensor_data', this.pointer);
    return { array: type.array, bytes: new Uint8Array(koffi.view(address, bytes)) };
  }
}

function checkShape(shape: readonly number[] | undefined): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new OpenVinoArgumentError(`a shape is an array of non-negative integers; got ${JSON.stringify(shape)}`);
  }
  return [...(shape as readonly number[])];
}

/** The data as the element type's typed array, over the same memory. */
function asTypedArray(
  array: new (buffer: ArrayBufferLike, byteOffset?: number, length?: number) => TensorArray,
  data: ArrayBufferView,
): TensorArray {
  if (data instanceof array) return data;
  const bytesPer = (array as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  // Bytes at an offset the element type cannot start at stay a byte view (OpenVINO does not mind).
  if (data.byteOffset % bytesPer !== 0) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new array(data.buffer, data.byteOffset, data.byteLength / bytesPer);
}
