/**
 * ONNX protobuf messages, read and written with protobufjs (a maintained protobuf library), for the
 * conformance suites and the small models the tests build. The schema is the subset of onnx.proto
 * (github.com/onnx/onnx, Apache-2.0) these tests need, with onnx.proto's field numbers.
 */
import protobuf from 'protobufjs';

const ONNX_SUBSET = `
syntax = "proto3";
package onnx;

message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  string name = 8;
  bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  string doc_string = 12;
  repeated StringStringEntryProto external_data = 13;
  int32 data_location = 14;
}

message StringStringEntryProto {
  string key = 1;
  string value = 2;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
}

message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  string domain = 7;
}

message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}

message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}

message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const root = protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
export const TensorProto = root.lookupType('onnx.TensorProto');
export const ModelProto = root.lookupType('onnx.ModelProto');

/** ONNX TensorProto.DataType values the suites meet. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const;

/** A decoded tensor: ONNX Runtime type name, dims and a typed array of its values. */
export interface DecodedTensor {
  readonly name: string;
  readonly type: 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';
  readonly dims: number[];
  readonly data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
}

interface TensorFields {
  name: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  double_data?: number[];
  int32_data?: number[];
  int64_data?: string[];
}

/** Decodes a serialized TensorProto (an `input_N.pb` / `output_N.pb` file). */
export function decodeTensor(bytes: Uint8Array): DecodedTensor {
  const message = TensorProto.decode(bytes);
  const fields = TensorProto.toObject(message, { longs: String, bytes: Uint8Array, defaults: true }) as TensorFields;
  const dims = fields.dims.map(Number);
  const count = dims.reduce((product, dim) => product * dim, 1);
  const raw = fields.raw_data !== undefined && fields.raw_data.length > 0 ? fields.raw_data : undefined;
  const fromRaw = <T>(View: { new (buffer: ArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number }) => {
    // Copy to an aligned buffer: protobuf slices can start at any byte.
    const copy = new Uint8Array(raw!.length);
    copy.set(raw!);
    return new View(copy.buffer, 0, raw!.length / View.BYTES_PER_ELEMENT);
  };
  switch (fields.data_type) {
    case DataType.FLOAT:
      return { name: fields.name, type: 'float32', dims, data: raw ? fromRaw(Float32Array) : Float32Array.from(fields.float_data ?? []) };
    case DataType.DOUBLE:
      return { name: fields.name, type: 'float64', dims, data: raw ? fromRaw(Float64Array) : Float64Array.from(fields.double_data ?? []) };
    case DataType.INT64:
      return {
        name: fields.name,
        type: 'int64',
        dims,
        data: raw ? fromRaw(BigInt64Array) : BigInt64Array.from((fields.int64_data ?? []).map((value) => BigInt(value))),
      };
    case DataType.INT32:
      return { name: fields.name, type: 'int32', dims, data: raw ? fromRaw(Int32Array) : Int32Array.from(fields.int32_data ?? []) };
    case DataType.UINT8:
    case DataType.BOOL:
      return {
        name: fields.name,
        type: fields.data_type === DataType.BOOL ? 'bool' : 'uint8',
        dims,
        data: raw ? fromRaw(Uint8Array) : Uint8Array.from(fields.int32_data ?? []),
      };
    case DataType.INT8:
      return { name: fields.name, type: 'int8', dims, data: raw ? fromRaw(Int8Array) : Int8Array.from(fields.int32_data ?? []) };
    default:
      throw new Error(`TensorProto data_type ${fields.data_type} is not handled by the tests (${count} elements)`);
  }
}

/**
 * A one-node ONNX model `y = x + w` with `x` and `y` float [n] and `w` a float initializer of
 * the given bytes (so the weights carry a pattern the tests can look for).
 */
export function addModel(weights: Uint8Array): Uint8Array {
  if (weights.length % 4 !== 0) throw new Error('weights must be whole float32 values');
  const n = weights.length / 4;
  const tensorType = { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_value: n }] } } };
  const model = ModelProto.fromObject({
    ir_version: 8,
    producer_name: 'ovseal-tests',
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'add',
      node: [{ input: ['x', 'w'], output: ['y'], name: 'add', op_type: 'Add' }],
      initializer: [{ name: 'w', dims: [n], data_type: DataType.FLOAT, raw_data: weights }],
      input: [{ name: 'x', type: tensorType }],
      output: [{ name: 'y', type: tensorType }],
    },
  });
  return ModelProto.encode(model).finish();
}

/**
 * `y = (x + a) + b` over float [n], with both initializers as ONNX external data in one file at
 * `location` (`a` at offset 0, `b` right after it): the layout ONNX uses for models over 2 GB.
 * Returns the model and the external file's bytes.
 */
export function externalDataModel(a: Float32Array, b: Float32Array, location: string): { model: Uint8Array; external: Uint8Array } {
  if (a.length !== b.length) throw new Error('a and b must have the same length');
  const n = a.length;
  const tensorType = { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_value: n }] } } };
  const external = (name: string, offset: number) => ({
    name,
    dims: [n],
    data_type: DataType.FLOAT,
    data_location: 1,
    external_data: [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(n * 4) },
    ],
  });
  const model = ModelProto.fromObject({
    ir_version: 8,
    producer_name: 'ovseal-tests',
    opset_import: [{ domain: '', version: 13 }],
    graph: {
      name: 'add-external',
      node: [
        { input: ['x', 'a'], output: ['t'], name: 'add_a', op_type: 'Add' },
        { input: ['t', 'b'], output: ['y'], name: 'add_b', op_type: 'Add' },
      ],
      initializer: [external('a', 0), external('b', n * 4)],
      input: [{ name: 'x', type: tensorType }],
      output: [{ name: 'y', type: tensorType }],
    },
  });
  const bytes = new Uint8Array(n * 8);
  bytes.set(new Uint8Array(a.buffer, a.byteOffset, n * 4), 0);
  bytes.set(new Uint8Array(b.buffer, b.byteOffset, n * 4), n * 4);
  return { model: ModelProto.encode(model).finish(), external: bytes };
}
