/**
 * The worker thread of the worker pool: decrypts or encrypts runs of segments, as its `init` says.
 *
 * Decrypting, it reads its segments itself when the container is a file (so ciphertext never
 * passes through the calling thread), or gets them in the task's lent buffer otherwise. The
 * plaintext goes straight into the shared per-entry buffers when the caller asked for shared
 * memory, or else is decrypted in place in the lent buffer, which goes back to be copied into
 * plain memory. Encrypting, it seals the plaintext of one lent buffer into the other and hashes
 * each sealed segment. The protocol is in worker-protocol.ts.
 */
import { parentPort } from 'node:worker_threads';
import { splitSealed, type SealedSegment } from '../crypto/segment-cipher.js';
import {
  encryptSegments,
  runSegmentTask,
  SegmentFile,
  sealedLength,
  sealedOffset,
  sealTaskOutputLength,
  type Destination,
} from './segment-tasks.js';
import type {
  CloseMessage,
  DecryptJob,
  DecryptOutput,
  DecryptSetup,
  EncryptJob,
  EncryptOutput,
  InitMessage,
  TaskMessage,
  TaskReply,
  WorkerReply,
} from './worker-protocol.js';

/** Runs the tasks of one kind; a task that throws is answered with an error. */
interface TaskRunner<Job, Output> {
  run(job: Job, buffers: ArrayBuffer[]): Output;
  close(): void;
}

type Job = DecryptJob | EncryptJob;

let key: Buffer = Buffer.alloc(0);
let abort: Int32Array<ArrayBufferLike> = new Int32Array(1);
/** The pool sends a worker only jobs of the kind it was set up for. */
let runner: TaskRunner<Job, DecryptOutput | EncryptOutput> | null = null;

const abandoned = () => Atomics.load(abort, 0) !== 0;

function decryptRunner(setup: DecryptSetup): TaskRunner<DecryptJob, DecryptOutput> {
  const outputs = setup.outputs.map((buffer) => (buffer ? new Uint8Array(buffer) : null));
  const file = setup.filePath ? new SegmentFile(setup.filePath, setup.fileSize, setup.maxSealedSegment) : null;

  const segmentsOf = (
    { task, position, filled }: DecryptJob,
    buffer: ArrayBuffer | undefined,
  ): ((segment: number) => SealedSegment | null) => {
    if (!buffer) return (s) => splitSealed(file!.read(position + sealedOffset(task, s), sealedLength(task, s)));
    const bytes = new Uint8Array(buffer);
    if (!filled) {
      const last = task.firstSegment + task.count - 1;
      file!.readInto(position, bytes.subarray(0, sealedOffset(task, last) + sealedLength(task, last)));
    }
    return (s) => splitSealed(bytes.subarray(sealedOffset(task, s), sealedOffset(task, s) + sealedLength(task, s)));
  };

  const destinationOf = ({ task, returnPlaintext }: DecryptJob, buffer: ArrayBuffer | undefined): Destination | null => {
    const shared = outputs[task.entryIndex];
    if (shared) return { bytes: shared, offsetOf: (s) => s * task.segmentSize };
    if (returnPlaintext && buffer) return { bytes: new Uint8Array(buffer), offsetOf: (s) => sealedOffset(task, s) };
    return null;
  };

  return {
    run(job, [buffer]) {
      const result = runSegmentTask(job.task, key, segmentsOf(job, buffer), destinationOf(job, buffer), abandoned);
      if (!result.ok && buffer) new Uint8Array(buffer).fill(0);
      return result;
    },
    close() {
      file?.close();
    },
  };
}

const encryptRunner: TaskRunner<EncryptJob, EncryptOutput> = {
  run(task, [plain, sealed]) {
    return encryptSegments(task, key, new Uint8Array(plain!, 0, task.length), new Uint8Array(sealed!, 0, sealTaskOutputLength(task)));
  },
  close() {},
};

function init(message: InitMessage): void {
  key = Buffer.from(message.key);
  message.key.fill(0);
  abort = new Int32Array(message.abort);
  runner = message.setup.kind === 'decrypt' ? decryptRunner(message.setup) : encryptRunner;
}

function runTask({ id, job, buffers }: TaskMessage<Job>): TaskReply<DecryptOutput | EncryptOutput> {
  try {
    return { type: 'result', id, output: runner!.run(job, buffers), buffers };
  } catch (error) {
    // Whatever the buffers hold (plaintext of the segments before the failure) is wiped first.
    for (const buffer of buffers) new Uint8Array(buffer).fill(0);
    return { type: 'error', id, message: String((error as Error)?.message ?? error), buffers };
  }
}

function close(): void {
  key.fill(0);
  runner?.close();
  runner = null;
  parentPort!.close();
}

parentPort!.on('message', (message: InitMessage | TaskMessage<Job> | CloseMessage) => {
  if (message.type === 'close') return close();
  if (message.type === 'init') {
    // An init failure (a file that changed) surfaces as the worker's 'error' event.
    init(message);
    parentPort!.postMessage({ type: 'ready' } satisfies WorkerReply<unknown>);
    return;
  }
  const reply = runTask(message);
  parentPort!.postMessage(reply, reply.buffers);
});
