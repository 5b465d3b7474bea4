/**
 * ONNX external data (every ONNX model over 2 GB keeps its weights in separate files, named by
 * `TensorProto.external_data["location"]`). A runtime given such a model from memory resolves those
 * names against the working directory or the model's path: a sealed model would silently read an
 * unsealed file. So the loader finds every location first: each must be an entry of the same
 * container, handed over from memory (ONNX Runtime's `externalData` option; for OpenVINO, inlined
 * into the model bytes), or the load is refused with `ERR_EXTERNAL_DATA`.
 *
 * The walk reads the protobuf wire format directly (no schema library): ModelProto.graph (7) and
 * functions (25); GraphProto.node (1), initializer (5), sparse_initializer (15); NodeProto.attribute
 * (5); AttributeProto.t (5), g (6), tensors (10), graphs (11), sparse_tensor (22), sparse_tensors
 * (23); SparseTensorProto.values (1), indices (2); FunctionProto.node (7); TensorProto.raw_data (9),
 * external_data (13, StringStringEntryProto key 1 / value 2) and data_location (14, EXTERNAL = 1).
 */
import { posix } from 'node:path';
import { ExternalDataError } from '../errors.js';
import type { ModelEntry, OpenedModel } from '../types.js';

/** One tensor's external data: where the bytes are, by the model's own words. */
export interface ExternalReference {
  readonly location: string;
  readonly offset: number;
  /** `undefined`: to the end of the file. */
  readonly length: number | undefined;
}

/** External files of an ONNX model, resolved to the container entries holding them. */
export interface ExternalDataFiles {
  /** For ONNX Runtime's `externalData` session option: each `location` with the entry's bytes. */
  readonly files: readonly { readonly path: string; readonly data: Uint8Array }[];
}

type MessageKind = 'model' | 'graph' | 'node' | 'attribute' | 'tensor' | 'sparse' | 'function';

/** Which fields of each message hold which sub-messages the walk must enter. */
const CHILDREN: Record<Exclude<MessageKind, 'tensor'>, Readonly<Record<number, MessageKind>>> = {
  model: { 7: 'graph', 25: 'function' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { 1: 'tensor', 2: 'tensor' },
  function: { 7: 'node' },
};

const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const LOCATION_EXTERNAL = 1;
/** Protobuf messages (and so ONNX models read from memory) are limited to 2 GiB - 1. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Every external-data reference in an ONNX model, in file order. Malformed protobuf: `ERR_EXTERNAL_DATA`. */
export function externalReferences(onnx: Uint8Array): ExternalReference[] {
  const found: ExternalReference[] = [];
  rewrite(onnx, 'model', (reference) => {
    found.push(reference);
    return undefined;
  });
  return found;
}

/**
 * The external files of an ONNX entry, from the same container, for ONNX Runtime. An empty list
 * when the model has none. A location that is not an entry (or tries to leave the model's folder)
 * is refused: the runtime must never look for it on disk.
 */
export function externalDataFiles(onnx: ModelEntry, opened: OpenedModel): ExternalDataFiles {
  const files = new Map<string, Uint8Array>();
  for (const reference of externalReferences(onnx.data)) {
    externalBytes(reference, onnx, opened); // the range must lie inside the entry
    files.set(reference.location, entryFor(reference.location, onnx, opened).data);
  }
  return { files: [...files].map(([path, data]) => ({ path, data })) };
}

/**
 * The ONNX model with every external tensor's bytes copied in from the container (OpenVINO's C API
 * has no way to hand it external files from memory). `undefined` when the model has no external
 * data. Refused when a location is not an entry, a range is out of bounds, or the result would pass
 * protobuf's 2 GiB limit.
 */
export function inlineExternalData(onnx: ModelEntry, opened: OpenedModel): Uint8Array | undefined {
  if (externalReferences(onnx.data).length === 0) return undefined;
  const inlined = rewrite(onnx.data, 'model', (reference) => externalBytes(reference, onnx, opened));
  if (inlined.byteLength > PROTOBUF_LIMIT) {
    inlined.fill(0);
    throw new ExternalDataError(
      `with its external data inlined the model is ${inlined.byteLength} bytes, past the 2 GiB limit of an ONNX model read from memory`,
      'load it with ONNX Runtime (loadOnnxRuntime takes the external files from the container), or convert it to OpenVINO IR',
    );
  }
  return inlined;
}

/** The bytes one reference names, checked against the entry's size. */
function externalBytes(reference: ExternalReference, onnx: ModelEntry, opened: OpenedModel): Uint8Array {
  const data = entryFor(reference.location, onnx, opened).data;
  const end = reference.length === undefined ? data.byteLength : reference.offset + reference.length;
  if (reference.offset > data.byteLength || end > data.byteLength) {
    throw new ExternalDataError(
      `external data of "${reference.location}" at ${reference.offset}+${reference.length ?? 'rest'} is past the end of the entry (${data.byteLength} bytes)`,
    );
  }
  return data.subarray(reference.offset, end);
}

function entryFor(location: string, onnx: ModelEntry, opened: OpenedModel): ModelEntry {
  if (location === '' || location.includes('\\') || posix.isAbsolute(location) || location.split('/').includes('..')) {
    throw new ExternalDataError(`the external data location "${location}" is not a plain relative path`);
  }
  const name = posix.join(posix.dirname(onnx.name), location);
  const entry = opened.entries.find((candidate) => candidate.name === name);
  if (entry === undefined) {
    throw new ExternalDataError(
      `the ONNX model reads external data from "${location}", which is not an entry of the container`,
      `seal the external data files with the model (entry "${name}", role "weights" or "aux")`,
    );
  }
  return entry;
}

/**
 * Copies a message, entering the fields that may lead to tensors. For each external tensor,
 * `resolve` gives the bytes to inline (then `raw_data` replaces the reference), or `undefined` to
 * keep it. Returns the input itself when nothing changed.
 */
function rewrite(bytes: Uint8Array, kind: MessageKind, resolve: (reference: ExternalReference) => Uint8Array | undefined): Uint8Array {
  if (kind === 'tensor') return rewriteTensor(bytes, resolve);
  const children = CHILDREN[kind];
  const parts: Uint8Array[] = [];
  let changed = false;
  for (const field of fields(bytes)) {
    const child = field.wireType === 2 ? children[field.number] : undefined;
    if (child === undefined) {
      parts.push(field.raw);
      continue;
    }
    const inner = rewrite(field.value, child, resolve);
    changed ||= inner !== field.value;
    parts.push(inner === field.value ? field.raw : lengthDelimited(field.number, inner));
  }
  return changed ? concat(parts) : bytes;
}

function rewriteTensor(bytes: Uint8Array, resolve: (reference: ExternalReference) => Uint8Array | undefined): Uint8Array {
  const all = [...fields(bytes)];
  const location = all.find((field) => field.number === TENSOR_DATA_LOCATION && field.wireType === 0);
  if (location?.varint !== LOCATION_EXTERNAL) return bytes;
  const entries = Object.fromEntries(
    all.filter((field) => field.number === TENSOR_EXTERNAL_DATA && field.wireType === 2).map((field) => keyValue(field.value)),
  );
  const reference = {
    location: entries.location ?? '',
    offset: entries.offset === undefined ? 0 : parseCount(entries.offset, 'offset'),
    length: entries.length === undefined ? undefined : parseCount(entries.length, 'length'),
  };
  const data = resolve(reference);
  if (data === undefined) return bytes;
  const kept = all.filter((field) => ![TENSOR_RAW_DATA, TENSOR_EXTERNAL_DATA, TENSOR_DATA_LOCATION].includes(field.number));
  return concat([...kept.map((field) => field.raw), lengthDelimited(TENSOR_RAW_DATA, data)]);
}

function keyValue(entry: Uint8Array): [string, string] {
  let key = '';
  let value = '';
  for (const field of fields(entry)) {
    if (field.wireType !== 2) continue;
    if (field.number === 1) key = new TextDecoder().decode(field.value);
    if (field.number === 2) value = new TextDecoder().decode(field.value);
  }
  return [key, value];
}

function parseCount(text: string, what: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new ExternalDataError(`external data ${what} "${text}" is not a byte count`);
  return Number(text);
}

interface Field {
  readonly number: number;
  readonly wireType: number;
  /** The whole field, tag included, to copy it unchanged. */
  readonly raw: Uint8Array;
  /** Length-delimited fields: the payload. */
  readonly value: Uint8Array;
  /** Varint fields: the value. */
  readonly varint: number | undefined;
}

function* fields(bytes: Uint8Array): Generator<Field> {
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const tag = readVarint(bytes, at);
    at = tag.next;
    const number = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    let value = bytes.subarray(0, 0);
    let varint: number | undefined;
    if (wireType === 0) {
      const read = readVarint(bytes, at);
      varint = read.value;
      at = read.next;
    } else if (wireType === 1 || wireType === 5) {
      at += wireType === 1 ? 8 : 4;
    } else if (wireType === 2) {
      const length = readVarint(bytes, at);
      at = length.next + length.value;
      value = bytes.subarray(length.next, at);
    } else {
      throw new ExternalDataError(`the ONNX model is not valid protobuf (wire type ${wireType} at byte ${start})`);
    }
    if (at > bytes.length || number === 0) throw new ExternalDataError(`the ONNX model is not valid protobuf (field at byte ${start})`);
    yield { number, wireType, raw: bytes.subarray(start, at), value, varint };
  }
}

function readVarint(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return { value, next: i + 1 };
  }
  throw new ExternalDataError(`the ONNX model is not valid protobuf (bad varint at byte ${at})`);
}

function lengthDelimited(number: number, payload: Uint8Array): Uint8Array {
  return concat([varint(number * 8 + 2), varint(payload.byteLength), payload]);
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Uint8Array.from(out);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
