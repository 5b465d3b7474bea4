/**
 * The messages between the worker pool (calling thread) and the segment worker. Protocol: `init` →
 * `ready`; `task` → `result` | `error`; `close` wipes the key and ends the worker. A task lends the
 * worker its buffers (transferred, not copied) and the reply always gives them back, whatever the
 * outcome, so that the owner reuses or wipes them.
 */
import type { SealTask, SegmentTask, TaskResult } from './segment-tasks.js';

/** A decrypting worker: where it reads the sealed segments and where the plaintext goes. */
export interface DecryptSetup {
  readonly kind: 'decrypt';
  /** Shared per-entry plaintext buffers (shared memory only; null otherwise). */
  readonly outputs: (SharedArrayBuffer | null)[];
  /** Set for file sources: the worker opens the file and reads its tasks itself. */
  readonly filePath: string | null;
  /** Size the calling thread saw; a file that changed since is refused. */
  readonly fileSize: number;
  /** Largest sealed segment (scratch size for file reads). */
  readonly maxSealedSegment: number;
}

/** An encrypting worker: everything it needs comes with each task. */
export interface EncryptSetup {
  readonly kind: 'encrypt';
}

export type WorkerSetup = DecryptSetup | EncryptSetup;

export interface InitMessage {
  readonly type: 'init';
  /** The worker's own copy of the key, moved to it (the worker wipes it when it closes). */
  readonly key: Uint8Array;
  /** Int32Array[1]: non-zero once the run failed or was aborted, so that tasks stop early. */
  readonly abort: SharedArrayBuffer;
  readonly setup: WorkerSetup;
}

/**
 * A decrypt task. Its one lent buffer (none when the worker reads a file segment by segment into
 * its own scratch) holds the task's sealed segments from offset 0.
 */
export interface DecryptJob {
  readonly task: SegmentTask;
  /** Absolute file position of the task's first segment (file sources). */
  readonly position: number;
  /** The buffer holds the sealed bytes already; otherwise the worker reads them from the file. */
  readonly filled: boolean;
  /** Decrypt in place in the buffer and send the plaintext back (no shared output for this entry). */
  readonly returnPlaintext: boolean;
}

/** An encrypt task; its lent buffers are [plaintext from offset 0, where the sealed run goes]. */
export type EncryptJob = SealTask;

/** What a task of each kind answers: the decrypt result, or the segment hashes of a sealed run. */
export type DecryptOutput = TaskResult;
export type EncryptOutput = Uint8Array;

export interface TaskMessage<Job> {
  readonly type: 'task';
  readonly id: number;
  readonly job: Job;
  readonly buffers: ArrayBuffer[];
}

export interface CloseMessage {
  readonly type: 'close';
}

/** A task's answer, with its lent buffers. */
export type TaskReply<Output> =
  | { readonly type: 'result'; readonly id: number; readonly output: Output; readonly buffers: ArrayBuffer[] }
  | { readonly type: 'error'; readonly id: number; readonly message: string; readonly buffers: ArrayBuffer[] };

export type WorkerReply<Output> = { readonly type: 'ready' } | TaskReply<Output>;
