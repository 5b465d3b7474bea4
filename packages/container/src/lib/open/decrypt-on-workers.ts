import { TAG_LENGTH } from '../format/limits.js';
import type { Prefaulter } from '../io/prefaulter.js';
import { entryDestination, runSegmentTask, sealedLength, sealedOffset } from '../parallel/segment-tasks.js';
import type { Reader } from '../io/container-reader.js';
import { outputOf, readStreamTask, type TaskInput } from './task-input.js';
import { plainRange, type PlannedTask, type RunState, type TaskShape } from './task-plan.js';
import type { Turns } from '../util/event-loop-turns.js';
import { WorkerPool, type PoolWorker } from '../parallel/worker-pool.js';
import type { DecryptJob, DecryptOutput } from '../parallel/worker-protocol.js';

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

/** A task a worker finished, waiting to be taken in by the main loop. */
interface Arrival {
  readonly planned: PlannedTask;
  readonly hashes: Uint8Array | null;
  readonly buffer: ArrayBuffer | null;
}

/** Zeroes a task buffer that may hold plaintext. */
function wiped(buffer: ArrayBuffer): ArrayBuffer {
  new Uint8Array(buffer).fill(0);
  return buffer;
}

/**
 * Runs the tasks on a pool of workers. Files are read by the workers themselves; bytes and streams
 * are copied here, in order, into a few buffers that go to a worker and come back (memory in
 * flight: workers × the pool's queue depth × task size). Plaintext goes straight into shared
 * outputs, or comes back in those buffers and is copied here into plain outputs (whose page faults
 * the prefaulter takes ahead). While the workers start up, this thread decrypts tasks itself.
 */
export async function runParallel(run: ParallelRun, tasks: Iterator<PlannedTask>, workerCount: number): Promise<boolean> {
  const { reader, key, outputs, shape, state } = run;
  const filePath = reader.kind === 'random' && reader.filePath ? reader.filePath : null;
  const touches = new Map<number, Promise<void>>();
  const arrivals: Arrival[] = [];
  const freeBuffers: ArrayBuffer[] = [];

  const pool: WorkerPool<DecryptJob, DecryptOutput, PlannedTask> = new WorkerPool({
    name: 'decrypt',
    signal: run.signal,
    onReply: (planned, result, [buffer]) => {
      if (result && !result.ok) pool.fail();
      if (result?.ok && !pool.failed) arrivals.push({ planned, hashes: result.hashes, buffer: buffer ?? null });
      else if (buffer) freeBuffers.push(wiped(buffer));
    },
  });
  pool.start(workerCount, key, {
    kind: 'decrypt',
    outputs: outputs.map((output) => (output && run.shared ? (output.buffer as SharedArrayBuffer) : null)),
    filePath,
    fileSize: reader.kind === 'random' ? reader.size : 0,
    maxSealedSegment: shape.largestSegment,
  });

  /** The output range of a task whose plaintext comes back to be copied here, or null. */
  const copiedRange = (planned: PlannedTask): Uint8Array | null => {
    const output = planned.task.decrypt && !run.shared ? outputs[planned.task.entryIndex] : null;
    if (!output) return null;
    const { start, end } = plainRange(planned);
    return output.subarray(start, end);
  };

  const dispatch = async (worker: PoolWorker, planned: PlannedTask) => {
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
    const job: DecryptJob = { task: planned.task, position: planned.position, filled: !filePath, returnPlaintext: range !== null };
    pool.post(worker, planned.id, job, buffer ? [buffer] : [], planned);
  };

  /** Takes in a worker's result: copies its plaintext into a plain output, then recycles the buffer. */
  const takeIn = async ({ planned, hashes, buffer }: Arrival) => {
    const range = copiedRange(planned);
    if (range && buffer) {
      await touches.get(planned.id);
      touches.delete(planned.id);
      const { task } = planned;
      const from = new Uint8Array(buffer);
      for (let s = task.firstSegment; s < task.firstSegment + task.count; s++) {
        const at = sealedOffset(task, s);
        range.set(from.subarray(at, at + sealedLength(task, s) - TAG_LENGTH), (s - task.firstSegment) * task.segmentSize);
      }
      from.fill(0, 0, planned.length);
    }
    if (buffer) freeBuffers.push(buffer);
    state.results[planned.id] = { ok: true, hashes };
    run.report(planned.length);
  };

  /** Decrypts one task on this thread (while workers start). */
  const runHere = async (planned: PlannedTask) => {
    state.touched(planned);
    const fetched = await run.input.fetch(planned);
    const output = planned.task.decrypt ? outputs[planned.task.entryIndex] : null;
    const result = runSegmentTask(
      planned.task,
      key,
      fetched.segmentAt,
      output ? entryDestination(planned.task, output) : null,
      () => pool.failed,
    );
    fetched.release();
    state.results[planned.id] = result;
    if (!result.ok) pool.fail();
    else run.report(planned.length);
  };

  try {
    let next = tasks.next();
    while (!pool.failed) {
      while (arrivals.length > 0 && !pool.failed) {
        await takeIn(arrivals.shift()!);
        await run.turns.maybe();
      }
      if (pool.failed) break;
      if (next.done) {
        if (pool.pending === 0) break;
        await pool.nextChange();
        continue;
      }
      const placement = pool.placement();
      if (placement === 'wait') {
        await pool.nextChange();
        continue;
      }
      // While workers are still starting, a task is done here rather than waited for.
      if (placement === 'here') await runHere(next.value);
      else await dispatch(placement, next.value);
      next = tasks.next();
      // Results and reads of bytes or buffered chunks come through microtasks: let the loop turn.
      await run.turns.maybe();
    }
  } catch (error) {
    pool.fail(error as Error);
  } finally {
    // None can write into the outputs once this returns.
    await pool.close();
    for (const arrival of arrivals) if (arrival.buffer) wiped(arrival.buffer);
  }
  if (pool.error) throw pool.error;
  return !pool.failed;
}
