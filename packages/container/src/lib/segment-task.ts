import { segmentCount, segmentHash, segmentNonce, segmentPlainLength } from './layout.js';
import { TAG_LENGTH } from './limits.js';
import { decryptSegmentInto } from './segment-cipher.js';

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
  readonly decrypt: boolean;
  readonly hash: boolean;
}

export interface TaskResult {
  readonly ok: boolean;
  /** SHA-256 of each sealed segment, when the task asked for hashes. */
  readonly hashes: Uint8Array[];
}

/** Sealed length (ciphertext ‖ tag) of segment `segment` of the task's entry. */
export function sealedLength(task: SegmentTask, segment: number): number {
  return segmentPlainLength(task.entrySize, task.segmentSize, segment) + TAG_LENGTH;
}

/** Sealed bytes of all the task's segments together. */
export function taskSealedLength(task: SegmentTask): number {
  let total = 0;
  for (let s = task.firstSegment; s < task.firstSegment + task.count; s++) total += sealedLength(task, s);
  return total;
}

/**
 * Hashes and/or decrypts the task's segments (into `out`, or nowhere when `out` is null). `sealedSegment(s)` returns segment s's bytes (it may
 * reuse one buffer between calls). Stops at the first failing tag.
 */
export function runSegmentTask(
  task: SegmentTask,
  key: Uint8Array,
  sealedSegment: (segment: number) => Uint8Array,
  out: Uint8Array | null,
): TaskResult {
  const total = segmentCount(task.entrySize, task.segmentSize);
  const hashes: Uint8Array[] = [];
  // Without a destination (verify), plaintext goes to a scratch segment and is dropped.
  const scratch = out ? null : Buffer.allocUnsafe(task.segmentSize);
  for (let s = task.firstSegment; s < task.firstSegment + task.count; s++) {
    const sealed = sealedSegment(s);
    if (task.hash) hashes.push(segmentHash(sealed));
    if (task.decrypt) {
      const nonce = segmentNonce(task.entryIndex, s, s === total - 1);
      const ok = out ? decryptSegmentInto(key, nonce, sealed, out, s * task.segmentSize) : decryptSegmentInto(key, nonce, sealed, scratch!, 0);
      if (!ok) return { ok: false, hashes };
    }
  }
  return { ok: true, hashes };
}
