import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TruncatedError } from '../errors.js';
import { segmentCount, segmentHash, segmentNonce, segmentPlainLength } from './layout.js';
import { TAG_LENGTH } from './limits.js';
import { authenticateSegment, decryptSegmentInto, encryptSegmentInto } from './segment-cipher.js';

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
 * Hashes and/or decrypts the task's segments: into `out` (the whole entry's plaintext buffer), or,
 * when `out` is null, only checking the tags. `sealedSegment(s)` returns segment s's bytes (it may
 * reuse one buffer between calls). Stops at the first failing tag, or as soon as `abandon()` says
 * another task failed.
 */
export function runSegmentTask(
  task: SegmentTask,
  key: Uint8Array,
  sealedSegment: (segment: number) => Uint8Array,
  out: Uint8Array | null,
  abandon: () => boolean = () => false,
): TaskResult {
  const total = segmentCount(task.entrySize, task.segmentSize);
  const hashes = task.hash ? new Uint8Array(task.count * HASH_LENGTH) : null;
  for (let i = 0; i < task.count; i++) {
    if (abandon()) return { ok: false, hashes };
    const s = task.firstSegment + i;
    const sealed = sealedSegment(s);
    if (hashes) hashes.set(segmentHash(sealed), i * HASH_LENGTH);
    if (!task.decrypt) continue;
    const nonce = segmentNonce(task.entryIndex, s, s === total - 1);
    const ok = out ? decryptSegmentInto(key, nonce, sealed, out, s * task.segmentSize) : authenticateSegment(key, nonce, sealed);
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
    let done = 0;
    while (done < length) {
      const n = readSync(this.#fd, this.#scratch, done, length - done, position + done);
      if (n === 0) throw new TruncatedError('the file shrank while it was read');
      done += n;
    }
    return this.#scratch.subarray(0, length);
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

/**
 * Every `update` of Node's cipher allocates its output, and V8 frees those buffers only when a GC
 * runs: external memory alone lets ~64 MiB of them pile up per thread first (measured in a
 * micro-benchmark, 2 workers decrypting 1 GiB: 74 MiB above plaintext, 14 MiB with a minor GC
 * every 4 MiB; they also stay in cache when recycled that fast). A scavenge of the young
 * generation every few MiB bounds that garbage. `gc` is only reachable with --expose-gc, which a
 * worker cannot be started with: the flag is set just long enough to fetch it (or the process's
 * own `gc` is used when it was started with it). The calling thread collects only while it
 * decrypts a large payload itself or reads a stream for the workers.
 */
function minorGcFunction(): () => void {
  const own = (globalThis as { gc?: (options?: object) => void }).gc;
  if (typeof own === 'function') return () => own({ type: 'minor' });
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (options?: object) => void;
    return () => gc({ type: 'minor' });
  } catch {
    return () => {};
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/**
 * glibc gives freed heap memory back to the kernel once the free top of the heap passes a trim
 * threshold that starts at 128 KiB and only rises when a large mmapped block is freed. Until then
 * every task's freed cipher outputs are returned and faulted in again by the next task (measured,
 * two workers opening 1 GiB: 500k page faults instead of 275k, +70 % system time). Freeing one
 * large block raises the threshold to twice its size, as any long-running process soon would.
 * Other allocators simply ignore it.
 */
function raiseAllocatorTrimThreshold(gc: () => void): void {
  let block: Buffer | null = Buffer.allocUnsafeSlow(16 * 1024 * 1024);
  void block.length;
  block = null;
  gc();
}

let minorGc: (() => void) | undefined;
let uncollected = 0;

/**
 * Cipher garbage a thread may leave between two collections: a scavenge costs ~0.2 ms, so one
 * per 4 MiB (about 1 ms of work per core) costs a few per cent.
 */
const COLLECT_EVERY = 4 * 1024 * 1024;

/**
 * Frees the buffers the cipher calls of the tasks so far left behind, once they add up to
 * COLLECT_EVERY (call it after each task, with its sealed bytes). The first collection also
 * prepares the allocator (see raiseAllocatorTrimThreshold).
 */
export function collectTaskGarbage(taskBytes: number): void {
  uncollected += taskBytes;
  if (uncollected < COLLECT_EVERY) return;
  uncollected = 0;
  if (!minorGc) {
    minorGc = minorGcFunction();
    raiseAllocatorTrimThreshold(minorGc);
  }
  minorGc();
}
