import { randomBytes, type KeyObject } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { InvalidArgumentError, IoError, OvsealError } from '../errors.js';
import type { ContainerInfo, EntryRole, ModelFormat, Recipient, Stanza } from '../types.js';
import { concatBytes } from './bytes.js';
import { encodeCore, encodeHeaderWithoutMac, headerLengthOf, validateFields, type HeaderEntry, type HeaderFields } from './header.js';
import { headerInfo } from './info.js';
import { DATA_KEY_LENGTH, deriveKeys, headerMac, wipe } from './keys.js';
import { payloadDigest, segmentHash, segmentNonce } from './layout.js';
import { DEFAULT_SEGMENT_SIZE, HEADER_ALIGN, HEADER_RESERVE } from './limits.js';
import { encryptSegment } from './segment-cipher.js';
import { signCore } from './signature.js';
import { wrapContextOf } from './unlock.js';

/** One file to seal: from a path, bytes, or a stream of chunks. */
export interface SealEntryInput {
  readonly name: string;
  readonly role: EntryRole;
  readonly path?: string;
  readonly data?: Uint8Array;
  readonly stream?: AsyncIterable<Uint8Array>;
  /** Expected size; checked against what was read. Optional. */
  readonly size?: number;
}

export interface SealMetadataInput {
  readonly name: string;
  readonly version: string;
  /** Inferred from the entry roles when omitted. */
  readonly format?: ModelFormat;
  readonly notAfter?: Date;
  readonly createdAt?: Date;
}

export interface SealCommonOptions {
  readonly entries: readonly SealEntryInput[];
  readonly metadata: SealMetadataInput;
  readonly recipients: readonly Recipient[];
  /** Publisher signing key (Ed25519 or ECDSA P-256): PEM or KeyObject. */
  readonly signer?: KeyObject | string;
  readonly segmentSize?: number;
  /** Free bytes kept after the header so rewraps can add recipients in place. Default 4096. */
  readonly headerReserve?: number;
  readonly onProgress?: (done: number, total: number | null) => void;
}

/** Fresh secrets of one container; injectable so test vectors can be generated reproducibly. */
export interface SealRandomness {
  readonly dataKey: Uint8Array;
  readonly containerId: Uint8Array;
  readonly salt: Uint8Array;
}

export function freshRandomness(): SealRandomness {
  return { dataKey: randomBytes(DATA_KEY_LENGTH), containerId: randomBytes(16), salt: randomBytes(32) };
}

/** Where sealed bytes go: the payload in order, then the header area at offset 0. */
export interface SealSink {
  /** Called once, before any payload byte, with the size of the header area. */
  begin(payloadOffset: number): Promise<void>;
  writePayload(bytes: Uint8Array): Promise<void>;
  writeHeaderArea(bytes: Uint8Array): Promise<void>;
}

function inferFormat(roles: readonly EntryRole[]): ModelFormat {
  if (roles.includes('xml') && roles.includes('weights')) return 'openvino-ir';
  if (roles.includes('onnx')) return 'onnx';
  if (roles.includes('blob')) return 'openvino-blob';
  return 'other';
}

function entryChunks(entry: SealEntryInput, segmentSize: number): AsyncIterable<Uint8Array> {
  const given = [entry.path, entry.data, entry.stream].filter((x) => x !== undefined).length;
  if (given !== 1) throw new InvalidArgumentError(`entry ${entry.name}: give exactly one of path, data or stream`);
  if (entry.data) return (async function* () { yield entry.data!; })();
  if (entry.stream) return entry.stream;
  return createReadStream(entry.path!, { highWaterMark: segmentSize });
}

function plannedSize(entry: SealEntryInput): number | null {
  if (entry.size !== undefined) return entry.size;
  if (entry.data) return entry.data.length;
  if (entry.path) {
    try {
      return statSync(entry.path).size;
    } catch (cause) {
      throw new IoError(`cannot read ${entry.path}: ${(cause as Error).message}`, { cause });
    }
  }
  return null;
}

/**
 * Cuts a chunk stream into segments. A segment is emitted only once the next byte (or the end) is
 * known, because the last segment carries the last-segment flag in its nonce.
 */
async function* segmentsOf(chunks: AsyncIterable<Uint8Array>, segmentSize: number): AsyncGenerator<{ plain: Uint8Array; last: boolean }> {
  let buffer = Buffer.allocUnsafe(segmentSize);
  let filled = 0;
  let held: Buffer | null = null;
  for await (const raw of chunks) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let offset = 0;
    while (offset < chunk.length) {
      if (filled === segmentSize) {
        if (held) yield { plain: held, last: false };
        held = buffer;
        buffer = Buffer.allocUnsafe(segmentSize);
        filled = 0;
      }
      const n = Math.min(segmentSize - filled, chunk.length - offset);
      buffer.set(chunk.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
    }
  }
  if (filled === 0 && held) {
    yield { plain: held, last: true };
    return;
  }
  if (held) yield { plain: held, last: false };
  yield { plain: buffer.subarray(0, filled), last: true };
}

/** Placeholder signature of the right size, so the header length is known before the payload. */
function placeholderSignature(signer: KeyObject | string | undefined, fields: HeaderFields) {
  return signer ? signCore(encodeCore(fields), signer) : null;
}

/** Buffers payload writes into large sequential writes. */
function batchedWriter(sink: SealSink, batchBytes = 8 * 1024 * 1024) {
  let parts: Uint8Array[] = [];
  let size = 0;
  return {
    async write(bytes: Uint8Array) {
      parts.push(bytes);
      size += bytes.length;
      if (size >= batchBytes) await this.flush();
    },
    async flush() {
      if (size === 0) return;
      const batch = parts.length === 1 ? parts[0]! : concatBytes(parts);
      parts = [];
      size = 0;
      await sink.writePayload(batch);
    },
  };
}

export async function sealInto(sink: SealSink, options: SealCommonOptions, randomness: SealRandomness = freshRandomness()): Promise<ContainerInfo> {
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  if (!options.recipients || options.recipients.length === 0) {
    throw new InvalidArgumentError('at least one recipient is needed', { hint: 'pass -r/--recipient, e.g. -r file:model.key' });
  }
  const { dataKey, containerId, salt } = randomness;
  const keys = deriveKeys(dataKey, salt);
  try {
    const meta = options.metadata;
    const createdAt = Math.floor((meta.createdAt ?? new Date()).getTime() / 1000);
    const notAfter = meta.notAfter ? Math.floor(meta.notAfter.getTime() / 1000) : 0;
    const base = {
      containerId, salt, commitment: keys.commitment, segmentSize, payloadDigest: new Uint8Array(32), createdAt, notAfter,
      modelName: meta.name, modelVersion: meta.version, format: meta.format ?? inferFormat(options.entries.map((e) => e.role)),
    };
    const context = wrapContextOf(base);
    const stanzas: Stanza[] = (await Promise.all(options.recipients.map((r) => r.wrap(dataKey, context)))).flat();
    const draftEntries: HeaderEntry[] = options.entries.map((e) => ({ name: e.name, role: e.role, size: 0 }));
    const draft: HeaderFields = { ...base, entries: draftEntries, stanzas, signature: null };
    validateFields(draft);
    const sizedDraft = { ...draft, signature: placeholderSignature(options.signer, draft) };
    const headerLength = headerLengthOf(sizedDraft);
    const reserve = options.headerReserve ?? HEADER_RESERVE;
    const payloadOffset = Math.ceil((headerLength + reserve) / HEADER_ALIGN) * HEADER_ALIGN;

    const totals = options.entries.map(plannedSize);
    const knownTotal = totals.every((t) => t !== null) ? totals.reduce<number>((a, b) => a + b!, 0) : null;
    await sink.begin(payloadOffset);
    const writer = batchedWriter(sink);
    const hashes: Buffer[] = [];
    const entries: HeaderEntry[] = [];
    let done = 0;
    for (const [index, entry] of options.entries.entries()) {
      let size = 0;
      let segment = 0;
      for await (const { plain, last } of segmentsOf(entryChunks(entry, segmentSize), segmentSize)) {
        const sealed = encryptSegment(keys.payloadKey, segmentNonce(index, segment, last), plain);
        hashes.push(segmentHash(sealed));
        await writer.write(sealed);
        size += plain.length;
        done += plain.length;
        segment++;
        options.onProgress?.(done, knownTotal);
      }
      if (entry.size !== undefined && entry.size !== size) {
        throw new InvalidArgumentError(`entry ${entry.name}: expected ${entry.size} bytes, read ${size}`);
      }
      entries.push({ name: entry.name, role: entry.role, size });
    }
    await writer.flush();

    const final: HeaderFields = { ...draft, entries, payloadDigest: payloadDigest(hashes) };
    const signed: HeaderFields = { ...final, signature: options.signer ? signCore(encodeCore(final), options.signer) : null };
    const withoutMac = encodeHeaderWithoutMac(signed, payloadOffset);
    const area = new Uint8Array(payloadOffset);
    area.set(withoutMac, 0);
    area.set(headerMac(keys.macKey, withoutMac), withoutMac.length);
    await sink.writeHeaderArea(area);
    return headerInfo(signed, payloadOffset);
  } catch (error) {
    if (error instanceof OvsealError) throw error;
    throw new IoError(`sealing failed: ${(error as Error).message}`, { cause: error });
  } finally {
    wipe(keys.payloadKey, keys.macKey, dataKey);
  }
}
