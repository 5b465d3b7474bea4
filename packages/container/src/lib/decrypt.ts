import { constants as bufferConstants } from 'node:buffer';
import { availableParallelism, totalmem } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AuthenticationFailedError, IoError, LimitExceededError, OvsealError, TruncatedError } from '../errors.js';
import { enforced } from './checks.js';
import type { InitMessage, TaskMessage, WorkerReply } from './decrypt-worker.js';
import type { ParsedHeader } from './header.js';
import { layoutEntries, payloadDigest, payloadLength, type EntryLayout } from './layout.js';
import { TAG_LENGTH } from './limits.js';
import { collectTaskGarbage, runSegmentTask, SegmentFile, sealedLength, sealedOffset, taskSealedLength, type SegmentTask, type TaskResult } from './segment-task.js';
import type { Reader } from './source.js';

/**
 * Below this many payload bytes, decrypt on the calling thread. Each worker takes ~30 ms to boot;
 * the calling thread decrypts meanwhile, but on 2 cores the boot competes with it. Measured (2
 * cores, file source, inline vs 2 workers): 32 MiB 32 vs 58 ms, 64 MiB 67 vs 80 ms, 128 MiB 122 vs
 * 111 ms, 256 MiB 237 vs 175 ms: the crossover is ~100 MiB there, lower with more cores (each
 * extra core speeds the parallel side only). Kept at 32 MiB for machines with more cores (and the
 * tests rely on it); pass `workers` to choose.
 */
const PARALLEL_THRESHOLD = 32 * 1024 * 1024;
/**
 * Bytes of sealed segments per task: large enough to amortise messaging (~0.1 ms a round trip),
 * small enough to balance the workers and to bound the buffers in flight for streams and bytes
 * (workers × QUEUE_DEPTH tasks): 2 MiB kept the memory an open adds to plaintext + ~40 MiB, where
 * 4 MiB took ~10 % less CPU but ~25 MiB more memory.
 */
const TASK_BYTES = 2 * 1024 * 1024;
/** Tasks queued on each worker, so it never idles waiting for the main thread between two. */
const QUEUE_DEPTH = 2;
/**
 * Largest read asked of a stream at once: the stream reader concatenates its pending bytes with
 * each new chunk until a read is satisfied, so small reads keep that copying linear.
 */
const STREAM_PIECE = 64 * 1024;

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

type Report = (bytes: number) => void;

/** Which entries' segments are read: the decrypted ones, or all of them for a digest or a stream. */
function entriesRead(layouts: EntryLayout[], options: DecryptOptions, readAll: boolean): EntryLayout[] {
  return layouts.filter((layout) => options.entries.has(layout.index) || options.digest || readAll);
}

function segmentsPerTask(segmentSize: number): number {
  return Math.max(1, Math.floor(TASK_BYTES / (segmentSize + TAG_LENGTH)));
}

/**
 * The tasks, in payload order, made one at a time: a stream's header may claim far more segments
 * than the stream holds, so nothing is planned (or allocated) ahead of what is actually read.
 */
function* planTasks(header: ParsedHeader, layouts: EntryLayout[], options: DecryptOptions): Generator<PlannedTask> {
  const stride = header.segmentSize + TAG_LENGTH;
  const perTask = segmentsPerTask(header.segmentSize);
  for (const layout of layouts) {
    const decrypt = options.entries.has(layout.index);
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
      yield { task, position, length: taskSealedLength(task) };
    }
  }
}

/** Number of tasks and the largest task's sealed length, without planning them. */
interface TaskShape {
  readonly count: number;
  /** Sealed length of the largest task, and of the largest segment. */
  readonly largest: number;
  readonly largestSegment: number;
}

function taskShape(layouts: EntryLayout[], segmentSize: number): TaskShape {
  const perTask = segmentsPerTask(segmentSize);
  const taskStride = perTask * (segmentSize + TAG_LENGTH);
  let count = 0;
  let largest = 0;
  let largestSegment = 0;
  for (const layout of layouts) {
    count += Math.ceil(layout.segmentCount / perTask);
    largest = Math.max(largest, Math.min(layout.ciphertextLength, taskStride));
    largestSegment = Math.max(largestSegment, Math.min(layout.ciphertextLength, segmentSize + TAG_LENGTH));
  }
  return { count, largest, largestSegment };
}

/** Plaintext bytes of its entry a task may write: [0, end). */
function plainEnd(planned: PlannedTask): number {
  const { task } = planned;
  return Math.min(task.entrySize, (task.firstSegment + task.count) * task.segmentSize);
}

/** Copies a task's sealed bytes into `into` (a file or bytes source is read at the task's position; a stream, in order). */
async function copyTaskBytes(reader: Reader, planned: PlannedTask, into: Uint8Array): Promise<void> {
  if (reader.kind === 'random') {
    into.set(reader.read(planned.position, planned.length));
    return;
  }
  for (let done = 0; done < planned.length;) {
    const piece = await reader.read(Math.min(STREAM_PIECE, planned.length - done));
    into.set(piece, done);
    done += piece.length;
  }
}

/** How the calling thread reads the tasks it runs itself (each made on first use). */
interface LocalReads {
  /** For file sources: segments are read into one reused buffer. */
  readonly file: () => SegmentFile | null;
  /** A buffer for a whole task (stream sources). */
  readonly scratch: () => Uint8Array;
  close(): void;
}

function localReads(reader: Reader, shape: TaskShape): LocalReads {
  const random = reader.kind === 'random' && reader.filePath ? { path: reader.filePath, size: reader.size } : null;
  let file: SegmentFile | undefined;
  let scratch: Uint8Array | undefined;
  return {
    file: () => (random ? (file ??= new SegmentFile(random.path, random.size, shape.largestSegment)) : null),
    scratch: () => (scratch ??= new Uint8Array(shape.largest)),
    close: () => file?.close(),
  };
}

/**
 * Runs one task on the calling thread. A file is read segment by segment into a reused buffer,
 * bytes in memory are not copied at all, and a stream is first read into the scratch buffer.
 */
async function runTaskHere(
  reader: Reader,
  key: Uint8Array,
  planned: PlannedTask,
  outputs: (Uint8Array | null)[],
  reads: LocalReads,
  abandon?: () => boolean,
): Promise<TaskResult> {
  const { task } = planned;
  let sealedSegment: (segment: number) => Uint8Array;
  const file = reads.file();
  if (file) {
    sealedSegment = (s) => file.read(planned.position + sealedOffset(task, s), sealedLength(task, s));
  } else if (reader.kind === 'random') {
    sealedSegment = (s) => reader.read(planned.position + sealedOffset(task, s), sealedLength(task, s));
  } else {
    const bytes = reads.scratch().subarray(0, planned.length);
    await copyTaskBytes(reader, planned, bytes);
    sealedSegment = (s) => bytes.subarray(sealedOffset(task, s), sealedOffset(task, s) + sealedLength(task, s));
  }
  return runSegmentTask(task, key, sealedSegment, outputs[task.entryIndex] ?? null, abandon);
}

/** What a run has done so far: results in payload order, and how far each output may have been written. */
class RunState {
  readonly results: (TaskResult | undefined)[] = [];
  readonly written: number[];
  constructor(entryCount: number) {
    this.written = new Array<number>(entryCount).fill(0);
  }
  /** Called before a task starts (here or in a worker). */
  started(id: number, planned: PlannedTask): void {
    const entry = planned.task.entryIndex;
    this.written[entry] = Math.max(this.written[entry]!, plainEnd(planned));
    this.results[id] = undefined;
  }
}

/** Runs every task on the calling thread. */
async function runInline(
  reader: Reader,
  key: Uint8Array,
  tasks: Iterable<PlannedTask>,
  shape: TaskShape,
  outputs: (Uint8Array | null)[],
  state: RunState,
  report: Report,
): Promise<boolean> {
  const reads = localReads(reader, shape);
  try {
    let id = 0;
    for (const planned of tasks) {
      state.started(id, planned);
      const result = await runTaskHere(reader, key, planned, outputs, reads);
      collectTaskGarbage(planned.length);
      state.results[id++] = result;
      if (!result.ok) return false;
      report(planned.length);
    }
    return true;
  } finally {
    reads.close();
  }
}

interface WorkerSlot {
  readonly worker: Worker;
  ready: boolean;
  dead: boolean;
  inFlight: number;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs the tasks on a pool of workers that write into the shared output buffers. Files are read by
 * the workers themselves; bytes and streams are read here, in order, into a few buffers that go to
 * a worker and come back (memory in flight: workers × QUEUE_DEPTH × TASK_BYTES). While the workers
 * start up, this thread decrypts tasks itself.
 */
async function runParallel(
  reader: Reader,
  key: Uint8Array,
  tasks: Iterator<PlannedTask>,
  shape: TaskShape,
  outputs: (Uint8Array | null)[],
  workerCount: number,
  state: RunState,
  report: Report,
): Promise<boolean> {
  const filePath = reader.kind === 'random' && reader.filePath ? reader.filePath : null;
  const { largest } = shape;
  const inFlight = new Map<number, PlannedTask>();
  const freeBuffers: ArrayBuffer[] = [];
  let reads: LocalReads | undefined;
  const abortFlag = new Int32Array(new SharedArrayBuffer(4));
  let failed = false;
  let fatal: Error | undefined;
  let closing = false;

  let wake: () => void = () => {};
  const nextChange = () => new Promise<void>((resolve) => (wake = resolve));
  const fail = (error?: Error) => {
    fatal ??= error;
    failed = true;
    Atomics.store(abortFlag, 0, 1);
  };

  const init: Omit<InitMessage, 'key'> = {
    type: 'init',
    outputs: outputs.map((output) => (output ? (output.buffer as SharedArrayBuffer) : null)),
    filePath,
    fileSize: reader.kind === 'random' ? reader.size : 0,
    maxSealedSegment: shape.largestSegment,
    abort: abortFlag.buffer,
  };
  const slots: WorkerSlot[] = Array.from({ length: workerCount }, () => {
    const slot: WorkerSlot = { worker: new Worker(new URL('./decrypt-worker.js', import.meta.url)), ready: false, dead: false, inFlight: 0 };
    slot.worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'ready') {
        slot.ready = true;
      } else {
        slot.inFlight--;
        const planned = inFlight.get(reply.id)!;
        inFlight.delete(reply.id);
        if (reply.sealed) freeBuffers.push(reply.sealed);
        if (reply.type === 'error') fail(new IoError(`decrypt worker failed: ${reply.message}`));
        else if (!reply.ok) fail();
        else {
          state.results[reply.id] = { ok: true, hashes: reply.hashes };
          report(planned.length);
        }
      }
      wake();
    });
    slot.worker.on('error', (error) => {
      slot.dead = true;
      fail(new IoError(`decrypt worker failed: ${error.message}`, { cause: error }));
      wake();
    });
    slot.worker.on('exit', () => {
      slot.dead = true;
      if (!closing) fail(new IoError('a decrypt worker stopped unexpectedly'));
      wake();
    });
    // Each worker gets its own copy of the key, moved (not cloned) so that no copy stays here; the
    // worker wipes it when it closes.
    const keyCopy = Uint8Array.from(key);
    slot.worker.postMessage({ ...init, key: keyCopy } satisfies InitMessage, [keyCopy.buffer]);
    return slot;
  });

  const dispatch = async (slot: WorkerSlot, id: number, planned: PlannedTask) => {
    let sealed: ArrayBuffer | null = null;
    if (!filePath) {
      sealed = freeBuffers.pop() ?? new ArrayBuffer(largest);
      await copyTaskBytes(reader, planned, new Uint8Array(sealed, 0, planned.length));
      // A stream's chunks are garbage once copied: free them before they pile up (see collectTaskGarbage).
      if (reader.kind === 'sequential') collectTaskGarbage(planned.length);
    }
    state.started(id, planned);
    slot.inFlight++;
    inFlight.set(id, planned);
    const message: TaskMessage = { type: 'task', id, task: planned.task, position: planned.position, sealed };
    slot.worker.postMessage(message, sealed ? [sealed] : []);
  };

  try {
    let id = 0;
    let next = tasks.next();
    while (!next.done && !failed) {
      const live = slots.filter((slot) => !slot.dead);
      const free = live.filter((slot) => slot.ready && slot.inFlight < QUEUE_DEPTH).sort((a, b) => a.inFlight - b.inFlight)[0];
      if (free) {
        await dispatch(free, id++, next.value);
        next = tasks.next();
      } else if (live.some((slot) => !slot.ready)) {
        // Workers still starting: do a task here rather than wait.
        const planned = next.value;
        state.started(id, planned);
        reads ??= localReads(reader, shape);
        const result = await runTaskHere(reader, key, planned, outputs, reads, () => failed);
        collectTaskGarbage(planned.length);
        state.results[id++] = result;
        if (!result.ok) fail();
        else report(planned.length);
        next = tasks.next();
        await nextTurn();
      } else {
        await nextChange();
      }
    }
    while (!failed && inFlight.size > 0) await nextChange();
  } catch (error) {
    fail(error as Error);
  } finally {
    reads?.close();
    closing = true;
    // Ready workers wipe their key and exit; the others (or all, after a failure) are stopped, so
    // none can write into the outputs once this returns.
    await Promise.all(
      slots.map((slot) => {
        if (slot.dead) return Promise.resolve();
        if (failed || !slot.ready) return slot.worker.terminate();
        const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
        slot.worker.postMessage({ type: 'close' });
        return exited;
      }),
    );
  }
  if (fatal) throw fatal;
  return !failed;
}

/**
 * The largest entry one buffer can hold in this Node version (Node 20: 4 GiB). Checked before
 * allocating, so a stream whose header claims more fails with a typed error.
 */
const MAX_ENTRY_IN_MEMORY = bufferConstants.MAX_LENGTH;

/**
 * Memory this process may use: a header that declares more plaintext than this cannot be opened
 * into memory, and a stream gives no file size to check the declared sizes against first.
 */
function memoryLimit(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
}

function allocateOutputs(layouts: EntryLayout[], entries: ReadonlySet<number>, shared: boolean): (Uint8Array | null)[] {
  let declared = 0;
  for (const layout of layouts) {
    if (!entries.has(layout.index)) continue;
    if (layout.size > MAX_ENTRY_IN_MEMORY) throw new LimitExceededError('entry size (in memory)', layout.size, MAX_ENTRY_IN_MEMORY);
    declared += layout.size;
  }
  if (declared > memoryLimit()) throw new LimitExceededError('plaintext size (in memory)', declared, memoryLimit());
  return layouts.map((layout) => {
    if (!entries.has(layout.index)) return null;
    return shared ? new Uint8Array(new SharedArrayBuffer(layout.size)) : new Uint8Array(layout.size);
  });
}

function digestOf(results: readonly (TaskResult | undefined)[]): Buffer {
  return payloadDigest(results.map((result) => result!.hashes!));
}

/**
 * Decrypts (and/or hashes) a container's payload. On any failure every output buffer is wiped and
 * one AuthenticationFailedError (or a TruncatedError for a size mismatch) is thrown: no plaintext
 * is released.
 */
export async function decryptPayload(reader: Reader, header: ParsedHeader, payloadKey: Uint8Array, options: DecryptOptions): Promise<DecryptResult> {
  const layouts = layoutEntries(header.entries.map((entry) => entry.size), header.segmentSize);
  const expectedSize = header.payloadOffset + payloadLength(layouts);
  if (reader.kind === 'random' && reader.size !== expectedSize && enforced('R-LEN-1')) {
    throw new TruncatedError(`the header describes ${expectedSize} bytes, the container has ${reader.size}`);
  }
  const read = entriesRead(layouts, options, reader.kind === 'sequential');
  const totalBytes = payloadLength(read);
  const shape = taskShape(read, header.segmentSize);
  // A stream keeps the calling thread busy reading it (measured, 2 cores, 1 GiB from a file
  // stream: 1 worker 950 ms, 2 workers 1470 ms); files and bytes leave it nearly idle.
  const cores = availableParallelism();
  const automatic = totalBytes < PARALLEL_THRESHOLD ? 0 : reader.kind === 'sequential' ? Math.max(1, cores - 1) : cores;
  const workerCount = Math.min(options.workers ?? automatic, shape.count);
  const outputs = options.keep === false ? layouts.map(() => null) : allocateOutputs(layouts, options.entries, workerCount > 0);
  const state = new RunState(layouts.length);
  let done = 0;
  const report = (n: number) => {
    done += n;
    options.onProgress?.(done, totalBytes);
  };
  try {
    const tasks = planTasks(header, read, options);
    const ok = workerCount > 0
      ? await runParallel(reader, payloadKey, tasks, shape, outputs, workerCount, state, report)
      : await runInline(reader, payloadKey, tasks, shape, outputs, state, report);
    if (!ok) throw new AuthenticationFailedError();
    if (reader.kind === 'sequential') await reader.expectEnd();
    const digest = options.digest ? digestOf(state.results) : null;
    return { outputs, digest };
  } catch (error) {
    // Only what may have been written: wiping a never-touched buffer would fault in every page.
    outputs.forEach((output, index) => output?.fill(0, 0, state.written[index]));
    throw error instanceof OvsealError ? error : new IoError(`decryption failed: ${(error as Error).message}`, { cause: error });
  }
}
