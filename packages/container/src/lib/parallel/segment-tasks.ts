import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TruncatedError } from '../../errors.js';
import { segmentCount, segmentHash, segmentNonce, segmentPlainLength, splitSegmentHash } from '../format/payload-layout.js';
import { TAG_LENGTH } from '../format/limits.js';
import { authenticateSegment, decryptSegmentInto, encryptSegmentInto, type SealedSegment } from '../crypto/segment-cipher.js';

/**
 * A run of consecutive segments of one entry: the unit of work of the decryptor, whether it runs
 * on the calling thread or in a worker.
 */
export interface SegmentTask {
  readonly entryIndex: number;
  readonly entrySize: number;
  readonly segmentSize: number;
  readonly firstSegment: number;
  readonly count: number;
  /** Check every tag (and, with a destination, keep the plaintext). */
  readonly decrypt: boolean;
  /** SHA-256 each sealed segment, for the payload digest. */
  readonly hash: boolean;
}

export interface TaskResult {
  /** False when a tag failed (or the task was abandoned because another one failed). */
  readonly ok: boolean;
  /** SHA-256 of each sealed segment, concatenated (32 bytes per segment), when the task asked for them. */
  readonly hashes: Uint8Array | null;
}

export const HASH_LENGTH = 32;

/** Where a task's plaintext goes: segment s at `offsetOf(s)` in `bytes`. */
export interface Destination {
  readonly bytes: Uint8Array;
  offsetOf(segment: number): number;
}

/** The plaintext of a whole entry: segment s at s × segment size. */
export function entryDestination(task: SegmentTask, bytes: Uint8Array): Destination {
  return { bytes, offsetOf: (s) => s * task.segmentSize };
}

/** Sealed length (ciphertext ‖ tag) of segment `segment` of the task's entry. */
export function sealedLength(task: SegmentTask, segment: number): number {
  return segmentPlainLength(task.entrySize, task.segmentSize, segment) + TAG_LENGTH;
}

/** Offset of segment `segment` from the task's first sealed byte. */
export function sealedOffset(task: SegmentTask, segment: number): number {
  return (segment - task.firstSegment) * (task.segmentSize + TAG_LENGTH);
}

/** Sealed bytes of all the task's segments together. */
export function taskSealedLength(task: SegmentTask): number {
  const last = task.firstSegment + task.count - 1;
  return sealedOffset(task, last) + sealedLength(task, last);
}

/**
 * Hashes and/or decrypts the task's segments: into `out`, or, when `out` is null, only checking
 * the tags. `segmentAt(s)` returns segment s (it may reuse one
 * buffer between calls, and its ciphertext may already lie in `out`, where it is decrypted in
 * place); null means the segment is too short to be valid. Stops at the first failing tag, or as
 * soon as `abandon()` says another task failed.
 */
export function runSegmentTask(
  task: SegmentTask,
  key: Uint8Array,
  segmentAt: (segment: number) => SealedSegment | null,
  out: Destination | null,
  abandon: () => boolean = () => false,
): TaskResult {
  const total = segmentCount(task.entrySize, task.segmentSize);
  const hashes = task.hash ? new Uint8Array(task.count * HASH_LENGTH) : null;
  for (let i = 0; i < task.count; i++) {
    if (abandon()) return { ok: false, hashes };
    const s = task.firstSegment + i;
    const segment = segmentAt(s);
    if (!segment) return { ok: false, hashes };
    if (hashes) hashes.set(splitSegmentHash(segment.body, segment.tag), i * HASH_LENGTH);
    if (!task.decrypt) continue;
    const nonce = segmentNonce(task.entryIndex, s, s === total - 1);
    const ok = out ? decryptSegmentInto(key, nonce, segment, out.bytes, out.offsetOf(s)) : authenticateSegment(key, nonce, segment);
    if (!ok) return { ok: false, hashes };
  }
  return { ok: true, hashes };
}

/**
 * Reads sealed segments of a container file into one reused buffer (the file is opened again by
 * path, by each thread that reads it; a file whose size changed since the header was read is
 * refused).
 */
export class SegmentFile {
  readonly #fd: number;
  readonly #scratch: Buffer;

  constructor(path: string, expectedSize: number, largestSegment: number) {
    this.#fd = openSync(path, 'r');
    if (fstatSync(this.#fd).size !== expectedSize) {
      closeSync(this.#fd);
      throw new TruncatedError('the file changed while it was read');
    }
    this.#scratch = Buffer.allocUnsafe(largestSegment);
  }

  /** `length` bytes at `position`, in the reused buffer (valid until the next read). */
  read(position: number, length: number): Buffer {
    const bytes = this.#scratch.subarray(0, length);
    this.readInto(position, bytes);
    return bytes;
  }

  /** Fills `into` with the bytes at `position`. */
  readInto(position: number, into: Uint8Array): void {
    for (let done = 0; done < into.length;) {
      const n = readSync(this.#fd, into, done, into.length - done, position + done);
      if (n === 0) throw new TruncatedError('the file shrank while it was read');
      done += n;
    }
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** A run of whole segments of one entry to seal: the unit of work of the encryptor. */
export interface SealTask {
  readonly entryIndex: number;
  readonly segmentSize: number;
  readonly firstSegment: number;
  /** Plaintext bytes of the run: whole segments, except that the entry's last one may be short. */
  readonly length: number;
  /** The run ends with the entry's last segment (flagged in its nonce). */
  readonly last: boolean;
}

export function sealTaskSegments(task: SealTask): number {
  return Math.max(1, Math.ceil(task.length / task.segmentSize));
}

/** Sealed length of a seal task's output: each segment grows by its tag. */
export function sealTaskOutputLength(task: SealTask): number {
  return task.length + sealTaskSegments(task) * TAG_LENGTH;
}

/**
 * Encrypts a run of segments into `out` (ciphertext ‖ tag of each, back to back, exactly as they
 * lie in the payload) and returns the SHA-256 of each sealed segment, concatenated. Each segment
 * is hashed right after it is encrypted, while it is still in cache.
 */
export function encryptSegments(task: SealTask, key: Uint8Array, plain: Uint8Array, out: Uint8Array): Uint8Array {
  const count = sealTaskSegments(task);
  const hashes = new Uint8Array(count * HASH_LENGTH);
  let outOffset = 0;
  for (let i = 0; i < count; i++) {
    const start = i * task.segmentSize;
    const end = Math.min(start + task.segmentSize, task.length);
    const nonce = segmentNonce(task.entryIndex, task.firstSegment + i, task.last && i === count - 1);
    const written = encryptSegmentInto(key, nonce, plain.subarray(start, end), out, outOffset);
    hashes.set(segmentHash(out.subarray(outOffset, outOffset + written)), i * HASH_LENGTH);
    outOffset += written;
  }
  return hashes;
}
