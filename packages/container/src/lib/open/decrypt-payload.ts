import { constants as bufferConstants } from 'node:buffer';
import { availableParallelism, totalmem } from 'node:os';
import { AuthenticationFailedError, IoError, LimitExceededError, OvsealError, TruncatedError } from '../../errors.js';
import { enforced } from '../format/reader-checks.js';
import { throwIfAborted } from '../util/abort.js';
import { runParallel } from './decrypt-on-workers.js';
import type { ParsedHeader } from '../format/header-codec.js';
import { layoutEntries, payloadDigest, payloadLength, type EntryLayout } from '../format/payload-layout.js';
import { Prefaulter } from '../io/prefaulter.js';
import { entryDestination, runSegmentTask, type TaskResult } from '../parallel/segment-tasks.js';
import type { Reader } from '../io/container-reader.js';
import { taskInput, type FetchedTask, type TaskInput } from './task-input.js';
import {
  CALLING_THREAD_TASK_BYTES,
  entriesRead,
  planTasks,
  RunState,
  taskShape,
  WORKER_TASK_BYTES,
  type PlannedTask,
} from './task-plan.js';
import { Turns } from '../util/event-loop-turns.js';

/**
 * Tasks the calling thread has in flight ahead of the one it decrypts: their file reads (and
 * prefaults) run on the threadpool meanwhile. A file's reads land in the output itself, so reading
 * ahead costs no memory. Three leaves one of libuv's four threads to the host's own file and DNS
 * work. Measured (2 cores, 1 GiB from a file, 7 interleaved runs on a loaded machine, medians): 2
 * ahead 1.41 s, 3 ahead 1.10 s, 4 ahead 1.15 s; reading the plaintext file 0.84 s.
 */
const READ_AHEAD = 3;

export interface DecryptOptions {
  /** Entries to decrypt (by index); the others are skipped, or only hashed. */
  readonly entries: ReadonlySet<number>;
  /** Compute the payload digest (needs every segment). */
  readonly digest: boolean;
  /** Keep the plaintext (open) or only check its tags (verify). Default true. */
  readonly keep?: boolean;
  /** Worker threads: 0 decrypts on the calling thread; default: see {@link automaticWorkers}. */
  readonly workers?: number | undefined;
  /** Return SharedArrayBuffer-backed outputs (written by the workers directly). Default: plain memory. */
  readonly sharedMemory?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  /** Allocates an entry's output (default: a new buffer; the tests pass their own to see it wiped). */
  readonly allocate?: ((size: number, shared: boolean) => Uint8Array) | undefined;
}

export interface DecryptResult {
  /** Plaintext per entry index; null for entries not asked for. */
  readonly outputs: (Uint8Array | null)[];
  readonly digest: Buffer | null;
}

/** Below this payload, worker threads never pay for their start (~30 ms each on the bench machine). */
const MIN_PARALLEL_PAYLOAD = 32 * 1024 * 1024;
/** Plain memory: below this payload, or on fewer cores, the calling thread decrypts alone. */
const MIN_PLAIN_PARALLEL_PAYLOAD = 128 * 1024 * 1024;
const MIN_PLAIN_PARALLEL_CORES = 4;

/**
 * The default number of worker threads.
 *
 * Plain memory (the default): only the calling thread can write it, so with workers it copies
 * every task's plaintext in (~0.15 s per GiB into prefaulted memory) while they decrypt. Measured
 * on 2 cores (`pnpm bench`, worker sweep, 1 MiB to 1 GiB, file, bytes and stream), decrypting on
 * the calling thread while the threadpool reads and faults ahead was the fastest setting at every
 * size, or within noise of it: the page faults (~0.45 CPU-s per GiB there) and AES-GCM (~0.45)
 * already keep both cores busy. With 4 cores or more, `cores - 1` workers take the AES-GCM off
 * the calling thread for payloads of 128 MiB and more; that crossover follows from the per-GiB
 * costs above and was not measured (the bench machines have 2 cores): the worker sweep of `pnpm
 * bench` checks it on any machine.
 *
 * Shared memory: the workers write the outputs themselves, so they pay from 32 MiB on; a stream
 * keeps the calling thread busy reading it, so it gets one worker fewer.
 */
export function automaticWorkers(payloadBytes: number, reader: Reader, sharedMemory: boolean): number {
  const cores = availableParallelism();
  if (sharedMemory) {
    if (payloadBytes < MIN_PARALLEL_PAYLOAD) return 0;
    return reader.kind === 'sequential' ? Math.max(1, cores - 1) : cores;
  }
  if (cores < MIN_PLAIN_PARALLEL_CORES || payloadBytes < MIN_PLAIN_PARALLEL_PAYLOAD) return 0;
  return cores - 1;
}

/**
 * Runs every task on the calling thread, a few tasks' reads ahead, and lets the event loop turn
 * between tasks (each is 8 MiB: a few milliseconds of work).
 */
async function runHere(
  input: TaskInput,
  tasks: Iterator<PlannedTask>,
  key: Uint8Array,
  outputs: readonly (Uint8Array | null)[],
  state: RunState,
  report: (bytes: number) => void,
  signal: AbortSignal | undefined,
  turns: Turns,
): Promise<boolean> {
  const queue: { planned: PlannedTask; fetched: Promise<FetchedTask> }[] = [];
  const refill = () => {
    while (queue.length < READ_AHEAD) {
      const next = tasks.next();
      if (next.done) return;
      state.touched(next.value);
      const fetched = input.fetch(next.value);
      // Awaited in turn below; a failure of one further ahead must not go unhandled meanwhile.
      fetched.catch(() => undefined);
      queue.push({ planned: next.value, fetched });
    }
  };
  try {
    refill();
    for (let item = queue.shift(); item; item = queue.shift()) {
      throwIfAborted(signal);
      const { planned } = item;
      const fetched = await item.fetched;
      refill();
      const output = planned.task.decrypt ? outputs[planned.task.entryIndex] : null;
      const result = runSegmentTask(planned.task, key, fetched.segmentAt, output ? entryDestination(planned.task, output) : null);
      fetched.release();
      state.results[planned.id] = result;
      if (!result.ok) return false;
      report(planned.length);
      await turns.maybe();
    }
    throwIfAborted(signal);
    return true;
  } finally {
    await input.settle();
  }
}

/**
 * The largest entry one buffer can hold in this Node version (Node 20: 4 GiB). Checked before
 * allocating, so a stream whose header claims more fails with a typed error.
 */
const MAX_ENTRY_IN_MEMORY = bufferConstants.MAX_LENGTH;

const newBuffer = (size: number, shared: boolean): Uint8Array =>
  shared ? new Uint8Array(new SharedArrayBuffer(size)) : new Uint8Array(size);

/**
 * Memory this process may use: a header that declares more plaintext than this cannot be opened
 * into memory, and a stream gives no file size to check the declared sizes against first.
 */
function memoryLimit(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
}

function allocateOutputs(
  layouts: EntryLayout[],
  entries: ReadonlySet<number>,
  shared: boolean,
  allocate = newBuffer,
): (Uint8Array | null)[] {
  let declared = 0;
  for (const layout of layouts) {
    if (!entries.has(layout.index)) continue;
    if (layout.size > MAX_ENTRY_IN_MEMORY) throw new LimitExceededError('entry size (in memory)', layout.size, MAX_ENTRY_IN_MEMORY);
    declared += layout.size;
  }
  if (declared > memoryLimit()) throw new LimitExceededError('plaintext size (in memory)', declared, memoryLimit());
  return layouts.map((layout) => (entries.has(layout.index) ? allocate(layout.size, shared) : null));
}

function digestOf(results: readonly (TaskResult | undefined)[]): Buffer {
  return payloadDigest(results.map((result) => result!.hashes!));
}

/** Whether the calling thread writes plain outputs whose page faults are worth taking ahead. */
function wantsPrefault(reader: Reader, outputs: readonly (Uint8Array | null)[], shared: boolean, workerCount: number): boolean {
  if (shared || outputs.every((output) => output === null)) return false;
  // A file run here reads ciphertext into the outputs on the threadpool, which faults them in.
  return workerCount > 0 || reader.kind === 'sequential' || reader.fd === undefined;
}

/**
 * Decrypts (and/or hashes) a container's payload. On any failure every output buffer is wiped and
 * one AuthenticationFailedError (or a TruncatedError for a size mismatch, an AbortError when the
 * signal fired) is thrown: no plaintext is released.
 */
export async function decryptPayload(
  reader: Reader,
  header: ParsedHeader,
  payloadKey: Uint8Array,
  options: DecryptOptions,
): Promise<DecryptResult> {
  throwIfAborted(options.signal);
  const layouts = layoutEntries(
    header.entries.map((entry) => entry.size),
    header.segmentSize,
  );
  const expectedSize = header.payloadOffset + payloadLength(layouts);
  if (reader.kind === 'random' && reader.size !== expectedSize && enforced('R-LEN-1')) {
    throw new TruncatedError(`the header describes ${expectedSize} bytes, the container has ${reader.size}`);
  }
  const read = entriesRead(layouts, options, reader.kind === 'sequential');
  const totalBytes = payloadLength(read);
  const shared = options.keep !== false && options.sharedMemory === true;
  const wanted = options.workers ?? automaticWorkers(totalBytes, reader, shared);
  const workerCount = Math.min(wanted, taskShape(read, header.segmentSize, WORKER_TASK_BYTES).count);
  // A stream is copied into task buffers (files and bytes are not): small tasks keep those few.
  const taskBytes = workerCount > 0 || reader.kind === 'sequential' ? WORKER_TASK_BYTES : CALLING_THREAD_TASK_BYTES;
  const shape = taskShape(read, header.segmentSize, taskBytes);
  const outputs = options.keep === false ? layouts.map(() => null) : allocateOutputs(layouts, options.entries, shared, options.allocate);
  const state = new RunState(layouts.length);
  let done = 0;
  const report = (n: number) => {
    done += n;
    options.onProgress?.(done, totalBytes);
  };
  const prefaulter = wantsPrefault(reader, outputs, shared, workerCount) ? await Prefaulter.open() : null;
  const turns = new Turns();
  const input = taskInput(reader, outputs, shape, prefaulter, turns);
  try {
    const tasks = planTasks(header, read, options, taskBytes);
    const ok =
      workerCount > 0
        ? await runParallel(
            { reader, key: payloadKey, outputs, shared, shape, state, input, prefaulter, report, signal: options.signal, turns },
            tasks,
            workerCount,
          )
        : await runHere(input, tasks, payloadKey, outputs, state, report, options.signal, turns);
    if (!ok) throw new AuthenticationFailedError();
    if (reader.kind === 'sequential') await reader.expectEnd();
    const digest = options.digest ? digestOf(state.results) : null;
    return { outputs, digest };
  } catch (error) {
    // Nothing may still write into the outputs: wait for reads and prefaults in flight, then wipe
    // only what may have been written (wiping a never-touched buffer would fault in every page).
    await input.settle();
    await prefaulter?.settle();
    outputs.forEach((output, index) => output?.fill(0, 0, state.written[index]));
    throw error instanceof OvsealError ? error : new IoError(`decryption failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await prefaulter?.close();
  }
}
