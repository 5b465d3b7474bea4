import { Worker } from 'node:worker_threads';
import { AbortError, IoError } from '../errors.js';
import type { InitMessage, TaskMessage, WorkerReply } from './decrypt-worker.js';
import { TAG_LENGTH } from './limits.js';
import type { Prefaulter } from './prefault.js';
import { entryDestination, runSegmentTask, sealedLength, sealedOffset } from './segment-task.js';
import type { Reader } from './source.js';
import { outputOf, readStreamTask, type TaskInput } from './task-input.js';
import { plainRange, type PlannedTask, type RunState, type TaskShape } from './task-plan.js';
import type { Turns } from './turns.js';

/** Tasks queued on each worker, so it never idles waiting for the main thread between two. */
const QUEUE_DEPTH = 2;

/** What the parallel run works with (set up by `decryptPayload`). */
export interface ParallelRun {
  readonly reader: Reader;
  readonly key: Uint8Array;
  readonly outputs: readonly (Uint8Array | null)[];
  /** The outputs are SharedArrayBuffers the workers write themselves. */
  readonly shared: boolean;
  readonly shape: TaskShape;
  readonly state: RunState;
  /** For the tasks this thread decrypts while the workers start. */
  readonly input: TaskInput;
  readonly prefaulter: Prefaulter | null;
  readonly report: (bytes: number) => void;
  readonly signal: AbortSignal | undefined;
  readonly turns: Turns;
}

interface WorkerSlot {
  readonly worker: Worker;
  ready: boolean;
  dead: boolean;
  inFlight: number;
}

/** A result a worker sent back, waiting to be taken in by the main loop. */
type Arrival = Extract<WorkerReply, { type: 'result' }>;

/** Zeroes a task buffer that may hold plaintext. */
function wiped(buffer: ArrayBuffer): ArrayBuffer {
  new Uint8Array(buffer).fill(0);
  return buffer;
}


/**
 * Runs the tasks on a pool of workers. Files are read by the workers themselves; bytes and streams
 * are copied here, in order, into a few buffers that go to a worker and come back (memory in
 * flight: workers × QUEUE_DEPTH × task size). Plaintext goes straight into shared outputs, or comes
 * back in those buffers and is copied here into plain outputs (whose page faults the prefaulter
 * takes ahead). While the workers start up, this thread decrypts tasks itself.
 */
export async function runParallel(run: ParallelRun, tasks: Iterator<PlannedTask>, workerCount: number): Promise<boolean> {
  const { reader, key, outputs, shape, state } = run;
  const filePath = reader.kind === 'random' && reader.filePath ? reader.filePath : null;
  const inFlight = new Map<number, PlannedTask>();
  const touches = new Map<number, Promise<void>>();
  const arrivals: Arrival[] = [];
  const freeBuffers: ArrayBuffer[] = [];
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
    wake();
  };
  const onAbort = () => fail(new AbortError(run.signal?.reason));
  run.signal?.addEventListener('abort', onAbort, { once: true });
  if (run.signal?.aborted) onAbort();

  const init: Omit<InitMessage, 'key'> = {
    type: 'init',
    outputs: outputs.map((output) => (output && run.shared ? (output.buffer as SharedArrayBuffer) : null)),
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
        if (reply.type === 'error') fail(new IoError(`decrypt worker failed: ${reply.message}`));
        else if (!reply.ok) fail();
        if (reply.type === 'result' && reply.ok && !failed) arrivals.push(reply);
        else if (reply.buffer) freeBuffers.push(wiped(reply.buffer));
      }
      wake();
    });
    slot.worker.on('error', (error) => {
      slot.dead = true;
      fail(new IoError(`decrypt worker failed: ${error.message}`, { cause: error }));
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

  /** The output range of a task whose plaintext comes back to be copied here, or null. */
  const copiedRange = (planned: PlannedTask): Uint8Array | null => {
    const output = planned.task.decrypt && !run.shared ? outputs[planned.task.entryIndex] : null;
    if (!output) return null;
    const { start, end } = plainRange(planned);
    return output.subarray(start, end);
  };

  const dispatch = async (slot: WorkerSlot, planned: PlannedTask) => {
    const range = copiedRange(planned);
    const needsBuffer = !filePath || range !== null;
    let buffer: ArrayBuffer | null = null;
    if (needsBuffer) {
      buffer = freeBuffers.pop() ?? new ArrayBuffer(shape.largest);
      if (!filePath) {
        const into = new Uint8Array(buffer, 0, planned.length);
        if (reader.kind === 'random') into.set(reader.read(planned.position, planned.length));
        else await readStreamTask(reader, into, run.turns);
      }
    }
    state.touched(planned);
    if (range && run.prefaulter) {
      const { start, end } = plainRange(planned);
      touches.set(planned.id, run.prefaulter.through(outputOf(planned, outputs)!, start, end));
    }
    slot.inFlight++;
    inFlight.set(planned.id, planned);
    const message: TaskMessage = { type: 'task', id: planned.id, task: planned.task, position: planned.position, buffer, filled: !filePath, returnPlaintext: range !== null };
    slot.worker.postMessage(message, buffer ? [buffer] : []);
  };

  /** Takes in a worker's result: copies its plaintext into a plain output, then recycles the buffer. */
  const takeIn = async (arrival: Arrival) => {
    const planned = inFlight.get(arrival.id)!;
    inFlight.delete(arrival.id);
    const range = copiedRange(planned);
    if (range && arrival.buffer) {
      await touches.get(arrival.id);
      touches.delete(arrival.id);
      const { task } = planned;
      const from = new Uint8Array(arrival.buffer);
      for (let s = task.firstSegment; s < task.firstSegment + task.count; s++) {
        const at = sealedOffset(task, s);
        range.set(from.subarray(at, at + sealedLength(task, s) - TAG_LENGTH), (s - task.firstSegment) * task.segmentSize);
      }
      from.fill(0, 0, planned.length);
    }
    if (arrival.buffer) freeBuffers.push(arrival.buffer);
    state.results[arrival.id] = { ok: true, hashes: arrival.hashes };
    run.report(planned.length);
  };

  /** Decrypts one task on this thread (while workers start). */
  const runHere = async (planned: PlannedTask) => {
    state.touched(planned);
    const fetched = await run.input.fetch(planned);
    const output = planned.task.decrypt ? outputs[planned.task.entryIndex] : null;
    const result = runSegmentTask(planned.task, key, fetched.segmentAt, output ? entryDestination(planned.task, output) : null, () => failed);
    fetched.release();
    state.results[planned.id] = result;
    if (!result.ok) fail();
    else run.report(planned.length);
  };

  try {
    let next = tasks.next();
    while (!failed) {
      while (arrivals.length > 0 && !failed) {
        await takeIn(arrivals.shift()!);
        await run.turns.maybe();
      }
      if (failed) break;
      if (next.done) {
        if (inFlight.size === 0) break;
        await nextChange();
        continue;
      }
      const live = slots.filter((slot) => !slot.dead);
      const free = live.filter((slot) => slot.ready && slot.inFlight < QUEUE_DEPTH).sort((a, b) => a.inFlight - b.inFlight)[0];
      if (free) {
        await dispatch(free, next.value);
        next = tasks.next();
        // Results and reads of bytes or buffered chunks come through microtasks: let the loop turn.
        await run.turns.maybe();
      } else if (live.some((slot) => !slot.ready)) {
        // Workers still starting: do a task here rather than wait.
        await runHere(next.value);
        next = tasks.next();
        await run.turns.maybe();
      } else {
        await nextChange();
      }
    }
  } catch (error) {
    fail(error as Error);
  } finally {
    run.signal?.removeEventListener('abort', onAbort);
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
    for (const arrival of arrivals) if (arrival.buffer) wiped(arrival.buffer);
  }
  if (fatal) throw fatal;
  return !failed;
}
