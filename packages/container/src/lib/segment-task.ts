import { segmentCount, segmentHash, segmentNonce, segmentPlainLength } from './layout.js';
import { TAG_LENGTH } from './limits.js';
import { authenticateSegment, decryptSegmentInto } from './segment-cipher.js';

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
