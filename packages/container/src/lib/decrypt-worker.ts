/**
 * Worker thread of the parallel decryptor. It reads its segments itself when the container is a
 * file (so ciphertext never passes through the main thread), or gets them transferred otherwise
 * (and hands the buffer back for reuse), and writes plaintext straight into the shared per-entry
 * buffers. Protocol: `init` → `ready`; `task` → `result` | `error`; `close` wipes the key and exits.
 */
import { parentPort } from 'node:worker_threads';
import { collectTaskGarbage, runSegmentTask, SegmentFile, sealedLength, sealedOffset, taskSealedLength, type SegmentTask } from './segment-task.js';

export interface InitMessage {
  readonly type: 'init';
  readonly key: Uint8Array;
  readonly outputs: (SharedArrayBuffer | null)[];
  /** Set for file sources: the worker opens the file and reads its tasks itself. */
  readonly filePath: string | null;
  /** Size the main thread saw; a file that changed since is refused. */
  readonly fileSize: number;
  /** Largest sealed segment (scratch size for file reads). */
  readonly maxSealedSegment: number;
  /** Int32Array[1]: non-zero once any task failed, so the others stop early. */
  readonly abort: SharedArrayBuffer;
}

export interface TaskMessage {
  readonly type: 'task';
  readonly id: number;
  readonly task: SegmentTask;
  /** Absolute file position of the task's first segment (file sources). */
  readonly position: number;
  /** The task's sealed segments from offset 0 (other sources); transferred back with the result. */
  readonly sealed: ArrayBuffer | null;
}

export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly ok: boolean; readonly hashes: Uint8Array | null; readonly sealed: ArrayBuffer | null }
  | { readonly type: 'error'; readonly id: number; readonly message: string; readonly sealed: ArrayBuffer | null };

let key: Buffer = Buffer.alloc(0);
let outputs: (Uint8Array | null)[] = [];
let file: SegmentFile | null = null;
let abort: Int32Array<ArrayBufferLike> = new Int32Array(1);


function runTask(message: TaskMessage) {
  const { task, sealed, position } = message;
  const sealedSegment = sealed
    ? (segment: number) => new Uint8Array(sealed, sealedOffset(task, segment), sealedLength(task, segment))
    : (segment: number) => file!.read(position + sealedOffset(task, segment), sealedLength(task, segment));
  return runSegmentTask(task, key, sealedSegment, outputs[task.entryIndex] ?? null, () => Atomics.load(abort, 0) !== 0);
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
  try {
    const result = runTask(message);
    collectTaskGarbage(taskSealedLength(message.task));
    const reply: WorkerReply = { type: 'result', id: message.id, ok: result.ok, hashes: result.hashes, sealed: message.sealed };
    parentPort!.postMessage(reply, message.sealed ? [message.sealed] : []);
  } catch (error) {
    const reply: WorkerReply = { type: 'error', id: message.id, message: String((error as Error)?.message ?? error), sealed: message.sealed };
    parentPort!.postMessage(reply, message.sealed ? [message.sealed] : []);
  }
});
