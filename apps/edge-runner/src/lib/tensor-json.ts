/** Tensor element types the JSON API accepts. */
export type TensorType = 'float32' | 'float64' | 'int8' | 'uint8' | 'int32' | 'int64';

export type TensorData = Float32Array | Float64Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

/** A tensor in memory. */
export interface Tensor {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** A tensor in JSON: `data` as numbers, or `base64` of the little-endian bytes. */
export interface JsonTensor {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly data?: readonly number[];
  readonly base64?: string;
}

const ARRAYS = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
  int64: BigInt64Array,
} as const;

export class TensorFormatError extends Error {}

export function typeOfArray(data: unknown): TensorType | undefined {
  return (Object.keys(ARRAYS) as TensorType[]).find((type) => data instanceof ARRAYS[type]);
}

/** The array if every element is a number (JSON input is checked, not trusted). */
function numbersIn(value: unknown): readonly number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const items: readonly unknown[] = value;
  return items.every((item): item is number => typeof item === 'number') ? items : undefined;
}

/** Validates and decodes one input tensor (shape and length checked before anything is allocated). */
export function decodeTensor(name: string, value: unknown, maxElements: number): Tensor {
  const tensor = value as Partial<JsonTensor> | null;
  if (!tensor || typeof tensor !== 'object') throw new TensorFormatError(`input ${name}: expected { type, dims, data | base64 }`);
  const type = tensor.type ?? 'float32';
  if (!(type in ARRAYS)) throw new TensorFormatError(`input ${name}: type must be one of ${Object.keys(ARRAYS).join(', ')}`);
  const dims = numbersIn(tensor.dims);
  if (dims === undefined || dims.length > 8 || !dims.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new TensorFormatError(`input ${name}: dims must be up to 8 non-negative integers`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > maxElements) throw new TensorFormatError(`input ${name}: ${count} elements is over the limit of ${maxElements}`);
  const Array_ = ARRAYS[type];
  let data: TensorData;
  if (typeof tensor.base64 === 'string') {
    const bytes = Buffer.from(tensor.base64, 'base64');
    if (bytes.length !== count * Array_.BYTES_PER_ELEMENT)
      throw new TensorFormatError(`input ${name}: base64 holds ${bytes.length} bytes, dims need ${count * Array_.BYTES_PER_ELEMENT}`);
    const aligned = new Uint8Array(bytes.length);
    aligned.set(bytes);
    data = new Array_(aligned.buffer);
  } else if (Array.isArray(tensor.data)) {
    const values = numbersIn(tensor.data);
    if (tensor.data.length !== count)
      throw new TensorFormatError(`input ${name}: data has ${tensor.data.length} values, dims need ${count}`);
    if (values === undefined || !values.every((v) => Number.isFinite(v)))
      throw new TensorFormatError(`input ${name}: data must be finite numbers`);
    data = type === 'int64' ? BigInt64Array.from(values, (v) => BigInt(Math.trunc(v))) : (Array_ as Float32ArrayConstructor).from(values);
  } else {
    throw new TensorFormatError(`input ${name}: give data (numbers) or base64 (little-endian bytes)`);
  }
  return { type, dims: [...dims], data };
}

export function encodeTensor(tensor: Tensor, encoding: 'array' | 'base64'): JsonTensor {
  if (encoding === 'base64') {
    return {
      type: tensor.type,
      dims: tensor.dims,
      base64: Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength).toString('base64'),
    };
  }
  const data = tensor.data instanceof BigInt64Array ? Array.from(tensor.data, Number) : Array.from(tensor.data as Float32Array);
  return { type: tensor.type, dims: tensor.dims, data };
}
