/**
 * Worker thread of the parallel decryptor. It reads its segments itself when the container is a
 * file (so ciphertext never passes through the main thread), or gets them transferred otherwise,
 * and writes plaintext straight into the shared per-entry buffers.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { runSegmentTask, sealedLength, type SegmentTask } from './segment-task.js';
import { TAG_LENGTH } from './limits.js';

interface InitMessage {
  type: 'init';
  key: Uint8Array;
  outputs: (SharedArrayBuffer | null)[];
  filePath: string | null;
  segmentSize: number;
}

interface TaskMessage {
  type: 'task';
  id: number;
  task: SegmentTask;
  /** Absolute file position of the task's first segment (file sources). */
  position: number;
  /** The task's sealed segments (other sources). */
  sealed: ArrayBuffer | null;
}

let key: Buffer = Buffer.alloc(0);
let outputs: (Uint8Array | null)[] = [];
let fd: number | null = null;
let scratch: Buffer = Buffer.alloc(0);

function readExactly(length: number, position: number): Buffer {
  let done = 0;
  while (done < length) {
    const n = readSync(fd!, scratch, done, length - done, position + done);
    if (n === 0) throw new Error('unexpected end of file');
    done += n;
  }
  return scratch.subarray(0, length);
}

function runTask(message: TaskMessage) {
  const { task } = message;
  const segmentStride = task.segmentSize + TAG_LENGTH;
  const sealedSegment = (segment: number): Uint8Array => {
    const relative = (segment - task.firstSegment) * segmentStride;
    const length = sealedLength(task, segment);
    if (message.sealed) return new Uint8Array(message.sealed, relative, length);
    return readExactly(length, message.position + relative);
  };
  return runSegmentTask(task, key, sealedSegment, outputs[task.entryIndex] ?? null);
}

parentPort!.on('message', (message: InitMessage | TaskMessage) => {
  if (message.type === 'init') {
    key = Buffer.from(message.key);
    outputs = message.outputs.map((buffer) => (buffer ? new Uint8Array(buffer) : null));
    fd = message.filePath ? openSync(message.filePath, 'r') : null;
    scratch = Buffer.allocUnsafe(message.segmentSize + TAG_LENGTH);
    return;
  }
  try {
    const result = runTask(message);
    parentPort!.postMessage({ id: message.id, ok: result.ok, hashes: result.hashes });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, ok: false, hashes: [], error: String(error) });
  }
});

process.on('exit', () => {
  key.fill(0);
  if (fd !== null) closeSync(fd);
});
