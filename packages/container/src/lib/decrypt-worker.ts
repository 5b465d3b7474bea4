/**
 * Worker thread of the parallel decryptor. It reads its segments itself when the container is a
 * file (so ciphertext never passes through the main thread), or gets them in a transferred buffer
 * otherwise. The plaintext goes straight into the shared per-entry buffers when the caller asked
 * for shared memory, or else is decrypted in place in the task's buffer, which goes back to the
 * main thread to be copied into plain memory. Protocol: `init` → `ready`; `task` → `result` |
 * `error`; `close` wipes the key and exits.
 */
import { parentPort } from 'node:worker_threads';
import { splitSealed, type SealedSegment } from './segment-cipher.js';
import { runSegmentTask, SegmentFile, sealedLength, sealedOffset, type Destination, type SegmentTask } from './segment-task.js';

export interface InitMessage {
  readonly type: 'init';
  readonly key: Uint8Array;
  /** Shared per-entry plaintext buffers (shared memory only; null otherwise). */
  readonly outputs: (SharedArrayBuffer | null)[];
  /** Set for file sources: the worker opens the file and reads its tasks itself. */
  readonly filePath: string | null;
  /** Size the main thread saw; a file that changed since is refused. */
  readonly fileSize: number;
  /** Largest sealed segment (scratch size for file reads). */
  readonly maxSealedSegment: number;
  /** Int32Array[1]: non-zero once any task failed or the run was aborted, so the others stop early. */
  readonly abort: SharedArrayBuffer;
}

export interface TaskMessage {
  readonly type: 'task';
  readonly id: number;
  readonly task: SegmentTask;
  /** Absolute file position of the task's first segment (file sources). */
  readonly position: number;
  /**
   * The task's buffer (sealed segments from offset 0), transferred back with the result; null when
   * the worker reads a file segment by segment into its own scratch.
   */
  readonly buffer: ArrayBuffer | null;
  /** The buffer holds the sealed bytes already; otherwise the worker reads them from the file. */
  readonly filled: boolean;
  /** Decrypt in place in the buffer and send the plaintext back (no shared output for this entry). */
  readonly returnPlaintext: boolean;
}

export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly ok: boolean; readonly hashes: Uint8Array | null; readonly buffer: ArrayBuffer | null }
  | { readonly type: 'error'; readonly id: number; readonly message: string; readonly buffer: ArrayBuffer | null };

let key: Buffer = Buffer.alloc(0);
let outputs: (Uint8Array | null)[] = [];
let file: SegmentFile | null = null;
let abort: Int32Array<ArrayBufferLike> = new Int32Array(1);

function segmentsOf(message: TaskMessage): (segment: number) => SealedSegment | null {
  const { task, buffer, position } = message;
  if (!buffer) return (s) => splitSealed(file!.read(position + sealedOffset(task, s), sealedLength(task, s)));
  const bytes = new Uint8Array(buffer);
  if (!message.filled) {
    const last = task.firstSegment + task.count - 1;
    file!.readInto(position, bytes.subarray(0, sealedOffset(task, last) + sealedLength(task, last)));
  }
  return (s) => splitSealed(bytes.subarray(sealedOffset(task, s), sealedOffset(task, s) + sealedLength(task, s)));
}

function destinationOf(message: TaskMessage): Destination | null {
  const { task } = message;
  const shared = outputs[task.entryIndex];
  if (shared) return { bytes: shared, offsetOf: (s) => s * task.segmentSize };
  if (message.returnPlaintext && message.buffer) return { bytes: new Uint8Array(message.buffer), offsetOf: (s) => sealedOffset(task, s) };
  return null;
}

function runTask(message: TaskMessage) {
  return runSegmentTask(message.task, key, segmentsOf(message), destinationOf(message), () => Atomics.load(abort, 0) !== 0);
}

function init(message: InitMessage) {
  key = Buffer.from(message.key);
  message.key.fill(0);
  outputs = message.outputs.map((buffer) => (buffer ? new Uint8Array(buffer) : null));
  abort = new Int32Array(message.abort);
  if (message.filePath) file = new SegmentFile(message.filePath, message.fileSize, message.maxSealedSegment);
}

function close() {
  key.fill(0);
  file?.close();
  file = null;
  parentPort!.close();
}

parentPort!.on('message', (message: InitMessage | TaskMessage | { type: 'close' }) => {
  if (message.type === 'close') return close();
  if (message.type === 'init') {
    // An init failure surfaces as the worker's 'error' event.
    init(message);
    parentPort!.postMessage({ type: 'ready' } satisfies WorkerReply);
    return;
  }
  const transfer = message.buffer ? [message.buffer] : [];
  try {
    const result = runTask(message);
    if (!result.ok && message.buffer) new Uint8Array(message.buffer).fill(0);
    const reply: WorkerReply = { type: 'result', id: message.id, ok: result.ok, hashes: result.hashes, buffer: message.buffer };
    parentPort!.postMessage(reply, transfer);
  } catch (error) {
    // Whatever the buffer holds (plaintext of the segments before the failure) is wiped first.
    if (message.buffer) new Uint8Array(message.buffer).fill(0);
    const reply: WorkerReply = { type: 'error', id: message.id, message: String((error as Error)?.message ?? error), buffer: message.buffer };
    parentPort!.postMessage(reply, transfer);
  }
});
