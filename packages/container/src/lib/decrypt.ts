import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AuthenticationFailedError, IoError, OvsealError, TruncatedError } from '../errors.js';
import type { ParsedHeader } from './header.js';
import { layoutEntries, payloadDigest, payloadLength, type EntryLayout } from './layout.js';
import { TAG_LENGTH } from './limits.js';
import { runSegmentTask, sealedLength, taskSealedLength, type SegmentTask, type TaskResult } from './segment-task.js';
import type { Reader } from './source.js';

/** Below this many payload bytes, worker start-up costs more than it saves. */
const PARALLEL_THRESHOLD = 32 * 1024 * 1024;
/** Bytes of sealed segments per task: large enough to amortise messaging, small enough to balance. */
const TASK_BYTES = 8 * 1024 * 1024;

export interface DecryptOptions {
  /** Entries to decrypt (by index); the others are skipped, or only hashed. */
  readonly entries: ReadonlySet<number>;
  /** Compute the payload digest (needs every segment). */
  readonly digest: boolean;
  /** Keep the plaintext (open) or only check its tags (verify). Default true. */
  readonly keep?: boolean;
  /** Worker threads: 0 decrypts on the calling thread; default: one per core for large payloads. */
  readonly workers?: number | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface DecryptResult {
  /** Plaintext per entry index; null for entries not asked for. */
  readonly outputs: (Uint8Array | null)[];
  readonly digest: Buffer | null;
}

interface PlannedTask {
  readonly task: SegmentTask;
  /** Position of the task's first sealed byte, from the start of the container. */
  readonly position: number;
  readonly length: number;
}

function planTasks(header: ParsedHeader, layouts: EntryLayout[], options: DecryptOptions, readAll: boolean): PlannedTask[] {
  const stride = header.segmentSize + TAG_LENGTH;
  const perTask = Math.max(1, Math.floor(TASK_BYTES / stride));
  const planned: PlannedTask[] = [];
  for (const layout of layouts) {
    const decrypt = options.entries.has(layout.index);
    if (!decrypt && !options.digest && !readAll) continue;
    for (let first = 0; first < layout.segmentCount; first += perTask) {
      const task: SegmentTask = {
        entryIndex: layout.index,
        entrySize: layout.size,
        segmentSize: header.segmentSize,
        firstSegment: first,
        count: Math.min(perTask, layout.segmentCount - first),
        decrypt,
        hash: options.digest,
      };
      const position = header.payloadOffset + layout.payloadOffset + first * stride;
      planned.push({ task, position, length: taskSealedLength(task) });
    }
  }
  return planned;
}

/** Reads a task's sealed bytes from the reader (in file order for streams). */
async function readTaskBytes(reader: Reader, planned: PlannedTask): Promise<Uint8Array> {
  return reader.kind === 'random' ? reader.read(planned.position, planned.length) : reader.read(planned.length);
}

function splitSealed(planned: PlannedTask, bytes: Uint8Array) {
  const stride = planned.task.segmentSize + TAG_LENGTH;
  return (segment: number) => {
    const start = (segment - planned.task.firstSegment) * stride;
    return bytes.subarray(start, start + sealedLength(planned.task, segment));
  };
}

function allocateOutputs(layouts: EntryLayout[], entries: ReadonlySet<number>, shared: boolean): (Uint8Array | null)[] {
  return layouts.map((layout) => {
    if (!entries.has(layout.index)) return null;
    return shared ? new Uint8Array(new SharedArrayBuffer(layout.size)) : new Uint8Array(layout.size);
  });
}

/** Runs tasks on the calling thread. */
async function runInline(reader: Reader, key: Uint8Array, tasks: PlannedTask[], outputs: (Uint8Array | null)[], report: (n: number) => void) {
  const results: TaskResult[] = [];
  for (const planned of tasks) {
    const bytes = await readTaskBytes(reader, planned);
    const result = runSegmentTask(planned.task, key, splitSealed(planned, bytes), outputs[planned.task.entryIndex] ?? null);
    results.push(result);
    if (!result.ok) return { ok: false, results };
    report(planned.length);
  }
  return { ok: true, results };
}

/** Runs tasks on a pool of workers that write into shared memory. */
async function runParallel(
  reader: Reader,
  key: Uint8Array,
  tasks: PlannedTask[],
  outputs: (Uint8Array | null)[],
  workerCount: number,
  segmentSize: number,
  report: (n: number) => void,
): Promise<{ ok: boolean; results: TaskResult[] }> {
  const filePath = reader.kind === 'random' && reader.filePath ? reader.filePath : null;
  const workers = Array.from({ length: workerCount }, () => new Worker(new URL('./decrypt-worker.js', import.meta.url)));
  const init = { type: 'init', key, outputs: outputs.map((o) => (o ? (o.buffer as SharedArrayBuffer) : null)), filePath, segmentSize };
  for (const worker of workers) worker.postMessage(init);
  const results: TaskResult[] = new Array(tasks.length);
  let failed = false;
  // Reads are chained so a stream is consumed in task order even with several workers waiting.
  let readChain: Promise<unknown> = Promise.resolve();
  const readInOrder = (planned: PlannedTask): Promise<Uint8Array> => {
    const read = readChain.then(() => readTaskBytes(reader, planned));
    readChain = read.catch(() => undefined);
    return read;
  };
  try {
    let next = 0;
    const runWorker = async (worker: Worker): Promise<void> => {
      while (!failed && next < tasks.length) {
        const id = next++;
        const planned = tasks[id]!;
        // Files are read by the worker itself; other sources hand it a copy it owns.
        let sealed: ArrayBuffer | null = null;
        if (!filePath) sealed = Uint8Array.from(await readInOrder(planned)).buffer;
        const result = await new Promise<TaskResult & { error?: string }>((resolve, reject) => {
          const onMessage = (message: TaskResult & { id: number; error?: string }) => {
            if (message.id !== id) return;
            worker.off('message', onMessage);
            worker.off('error', reject);
            resolve(message);
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
          worker.postMessage({ type: 'task', id, task: planned.task, position: planned.position, sealed }, sealed ? [sealed] : []);
        });
        if (result.error) throw new IoError(`decrypt worker failed: ${result.error}`);
        results[id] = result;
        if (!result.ok) failed = true;
        else report(planned.length);
      }
    };
    await Promise.all(workers.map(runWorker));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return { ok: !failed, results };
}

/**
 * Decrypts (and/or hashes) a container's payload. On any failure every output buffer is wiped and
 * one AuthenticationFailedError (or a TruncatedError for a size mismatch) is thrown: no plaintext
 * is released.
 */
export async function decryptPayload(reader: Reader, header: ParsedHeader, payloadKey: Uint8Array, options: DecryptOptions): Promise<DecryptResult> {
  const layouts = layoutEntries(header.entries.map((entry) => entry.size), header.segmentSize);
  const expectedSize = header.payloadOffset + payloadLength(layouts);
  if (reader.kind === 'random' && reader.size !== expectedSize) {
    throw new TruncatedError(`the header describes ${expectedSize} bytes, the container has ${reader.size}`);
  }
  const tasks = planTasks(header, layouts, options, reader.kind === 'sequential');
  const totalBytes = tasks.reduce((sum, task) => sum + task.length, 0);
  const workerCount = options.workers ?? (totalBytes >= PARALLEL_THRESHOLD ? availableParallelism() : 0);
  const outputs = options.keep === false ? layouts.map(() => null) : allocateOutputs(layouts, options.entries, workerCount > 0);
  let done = 0;
  const report = (n: number) => {
    done += n;
    options.onProgress?.(done, totalBytes);
  };
  try {
    const run = workerCount > 0
      ? await runParallel(reader, payloadKey, tasks, outputs, workerCount, header.segmentSize, report)
      : await runInline(reader, payloadKey, tasks, outputs, report);
    if (!run.ok) throw new AuthenticationFailedError();
    if (reader.kind === 'sequential') await reader.expectEnd();
    const digest = options.digest ? payloadDigest(run.results.flatMap((result) => result.hashes)) : null;
    return { outputs, digest };
  } catch (error) {
    for (const output of outputs) output?.fill(0);
    throw error instanceof OvsealError ? error : new IoError(`decryption failed: ${(error as Error).message}`, { cause: error });
  }
}
