import { randomBytes, type KeyObject } from 'node:crypto';
import { InvalidArgumentError, IoError, OvsealError } from '../../errors.js';
import type { ContainerInfo, EntryRole, ModelFormat, Recipient, Signer, Stanza } from '../../types.js';
import { throwIfAborted } from '../util/abort.js';
import { entryReader, plannedSize, type EntryReader } from './entry-readers.js';
import { refuseDuplicateKeys } from '../crypto/duplicate-keys.js';
import { PayloadEncryptor } from './payload-encryptor.js';
import {
  encodeCore,
  encodeHeaderWithoutMac,
  headerLengthOf,
  validateFields,
  type HeaderEntry,
  type HeaderFields,
} from '../format/header-codec.js';
import { headerInfo } from '../format/header-info.js';
import { inferFormat } from '../../infer-format.js';
import { DATA_KEY_LENGTH, deriveKeys, headerMac, wipe } from '../crypto/derived-keys.js';
import { payloadDigest } from '../format/payload-layout.js';
import { DEFAULT_SEGMENT_SIZE, HEADER_ALIGN, HEADER_RESERVE } from '../format/limits.js';
import type { SealTask } from '../parallel/segment-tasks.js';
import { placeholderSignature, signCoreWith, toSigner } from '../crypto/signer.js';
import { wrapContextOf } from '../crypto/unlock.js';

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
  /**
   * Publisher signing key (Ed25519 or ECDSA P-256): a {@link Signer} (local, HSM, KMS), or a local
   * private key as PEM or KeyObject.
   */
  readonly signer?: Signer | KeyObject | string;
  readonly segmentSize?: number;
  /** Free bytes kept after the header so rewraps can add recipients in place. Default 4096. */
  readonly headerReserve?: number;
  readonly onProgress?: (done: number, total: number | null) => void;
  /**
   * Cancels the seal: workers are stopped and the promise rejects with an `AbortError` (code
   * `ERR_ABORTED`); `seal` leaves no output file, not even a temporary one.
   */
  readonly signal?: AbortSignal | undefined;
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
  /** Payload bytes in order. `bytes` is reused once the promise resolves: copy it to keep it. */
  writePayload(bytes: Uint8Array): Promise<void>;
  writeHeaderArea(bytes: Uint8Array): Promise<void>;
}

/**
 * Cuts an entry into seal tasks of whole segments, read straight into the encryptor's buffers. A
 * task is handed on only once the next byte (or the end) is known, because the entry's last
 * segment carries the last-segment flag in its nonce.
 */
async function* tasksOf(
  entryIndex: number,
  reader: EntryReader,
  segmentSize: number,
  encryptor: PayloadEncryptor,
): AsyncGenerator<{ task: SealTask; buffer: ArrayBuffer }> {
  let firstSegment = 0;
  let held: ArrayBuffer | null = null;
  const task = (length: number, last: boolean): SealTask => ({ entryIndex, segmentSize, firstSegment, length, last });
  for (;;) {
    const buffer = await encryptor.acquire();
    const length = await reader.fill(new Uint8Array(buffer, 0, encryptor.taskCapacity));
    if (held) {
      if (length === 0) {
        encryptor.release(buffer);
        yield { task: task(encryptor.taskCapacity, true), buffer: held };
        return;
      }
      yield { task: task(encryptor.taskCapacity, false), buffer: held };
      firstSegment += encryptor.taskCapacity / segmentSize;
    }
    if (length < encryptor.taskCapacity) {
      yield { task: task(length, true), buffer };
      return;
    }
    held = buffer;
  }
}

export async function sealInto(
  sink: SealSink,
  options: SealCommonOptions,
  randomness: SealRandomness = freshRandomness(),
): Promise<ContainerInfo> {
  const segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  if (!options.recipients || options.recipients.length === 0) {
    throw new InvalidArgumentError('at least one recipient is needed', { hint: 'pass -r/--recipient, e.g. -r file:model.key' });
  }
  const signer = options.signer === undefined ? undefined : toSigner(options.signer);
  throwIfAborted(options.signal);
  const { dataKey, containerId, salt } = randomness;
  const keys = deriveKeys(dataKey, salt);
  try {
    const meta = options.metadata;
    const createdAt = Math.floor((meta.createdAt ?? new Date()).getTime() / 1000);
    const notAfter = meta.notAfter ? Math.floor(meta.notAfter.getTime() / 1000) : 0;
    const base = {
      containerId,
      salt,
      commitment: keys.commitment,
      segmentSize,
      payloadDigest: new Uint8Array(32),
      createdAt,
      notAfter,
      modelName: meta.name,
      modelVersion: meta.version,
      format: meta.format ?? inferFormat(options.entries.map((e) => e.role)),
    };
    const context = wrapContextOf(base);
    const wrapped = await Promise.all(options.recipients.map((r) => r.wrap(dataKey, context)));
    refuseDuplicateKeys(wrapped.map((stanzas, i) => ({ recipient: options.recipients[i]!, stanzas })));
    const stanzas: Stanza[] = wrapped.flat();
    throwIfAborted(options.signal);
    const draftEntries: HeaderEntry[] = options.entries.map((e) => ({ name: e.name, role: e.role, size: 0 }));
    const draft: HeaderFields = { ...base, entries: draftEntries, stanzas, signature: null };
    validateFields(draft);
    const sizedDraft = { ...draft, signature: signer ? placeholderSignature(signer) : null };
    const headerLength = headerLengthOf(sizedDraft);
    const reserve = options.headerReserve ?? HEADER_RESERVE;
    const payloadOffset = Math.ceil((headerLength + reserve) / HEADER_ALIGN) * HEADER_ALIGN;

    const totals = options.entries.map(plannedSize);
    const knownTotal = totals.every((t) => t !== null) ? totals.reduce<number>((a, b) => a + b, 0) : null;
    await sink.begin(payloadOffset);
    let done = 0;
    const encryptor = new PayloadEncryptor(
      keys.payloadKey,
      segmentSize,
      knownTotal,
      (bytes) => sink.writePayload(bytes),
      (plainBytes) => {
        done += plainBytes;
        options.onProgress?.(done, knownTotal);
      },
      options.signal,
    );
    const entries: HeaderEntry[] = [];
    let hashes: Uint8Array[];
    try {
      for (const [index, entry] of options.entries.entries()) {
        const reader = entryReader(entry, options.signal);
        let size = 0;
        try {
          for await (const { task, buffer } of tasksOf(index, reader, segmentSize, encryptor)) {
            size += task.length;
            await encryptor.push(task, buffer);
          }
        } finally {
          await reader.close();
        }
        if (entry.size !== undefined && entry.size !== size) {
          throw new InvalidArgumentError(`entry ${entry.name}: expected ${entry.size} bytes, read ${size}`);
        }
        entries.push({ name: entry.name, role: entry.role, size });
      }
      hashes = await encryptor.finish();
    } finally {
      await encryptor.close();
    }

    const final: HeaderFields = { ...draft, entries, payloadDigest: payloadDigest(hashes) };
    const signed: HeaderFields = { ...final, signature: signer ? await signCoreWith(encodeCore(final), signer) : null };
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
