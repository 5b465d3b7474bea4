import { readv } from 'node:fs';
import { promisify } from 'node:util';
import { TruncatedError } from '../../errors.js';
import { TAG_LENGTH } from '../format/limits.js';
import type { Prefaulter } from '../io/prefaulter.js';
import { splitSealed, type SealedSegment } from '../crypto/segment-cipher.js';
import { sealedLength, sealedOffset } from '../parallel/segment-tasks.js';
import type { Reader, SequentialReader } from '../io/container-reader.js';
import { plainRange, type PlannedTask, type TaskShape } from './task-plan.js';
import type { Turns } from '../util/event-loop-turns.js';

/** A task's sealed segments, ready to be decrypted by the calling thread. */
export interface FetchedTask {
  readonly segmentAt: (segment: number) => SealedSegment | null;
  /** Gives the task's buffers back; call it once the task is done. */
  release(): void;
}

/** Where the calling thread gets the tasks it decrypts itself. */
export interface TaskInput {
  /** Starts getting a task's sealed segments. Call it in payload order; several may be in flight. */
  fetch(planned: PlannedTask): Promise<FetchedTask>;
  /** Waits until no read is in flight: nothing writes into the outputs once it resolves. */
  settle(): Promise<void>;
}

/** Most buffers one readv(2) takes (Linux's IOV_MAX). */
const IOV_MAX = 1024;
const readvAsync = promisify(readv);

/** Fills `views` from the file at `position` with readv(2), on the threadpool; a short file is a TruncatedError. */
async function readViews(fd: number, views: Uint8Array[], position: number): Promise<void> {
  let pending = views.filter((view) => view.length > 0);
  while (pending.length > 0) {
    const { bytesRead } = await readvAsync(fd, pending.slice(0, IOV_MAX), position);
    if (bytesRead === 0) throw new TruncatedError('the file shrank while it was read');
    position += bytesRead;
    let skip = bytesRead;
    const rest: Uint8Array[] = [];
    for (const view of pending) {
      if (skip >= view.length) skip -= view.length;
      else {
        rest.push(view.subarray(skip));
        skip = 0;
      }
    }
    pending = rest;
  }
}

/** Segment accessor over a buffer holding a task's sealed bytes back to back. */
function contiguous(planned: PlannedTask, sealed: Uint8Array): (segment: number) => SealedSegment | null {
  const { task } = planned;
  return (s) => splitSealed(sealed.subarray(sealedOffset(task, s), sealedOffset(task, s) + sealedLength(task, s)));
}

/** Reused buffers of one task's sealed bytes. */
class ScratchPool {
  readonly #free: Uint8Array[] = [];
  constructor(readonly size: number) {}
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }
  give(buffer: Uint8Array): void {
    this.#free.push(buffer);
  }
}

/** Tracks promises in flight so that `settle` can wait for them. */
class InFlight {
  readonly #promises = new Set<Promise<unknown>>();
  track<T>(promise: Promise<T>): Promise<T> {
    const settled = promise.then(
      () => undefined,
      () => undefined,
    );
    this.#promises.add(settled);
    void settled.then(() => this.#promises.delete(settled));
    return promise;
  }
  async settle(): Promise<void> {
    while (this.#promises.size > 0) await Promise.all([...this.#promises]);
  }
}

/** The output a task writes into, or null when its plaintext is not kept. */
export function outputOf(planned: PlannedTask, outputs: readonly (Uint8Array | null)[]): Uint8Array | null {
  return (planned.task.decrypt ? outputs[planned.task.entryIndex] : null) ?? null;
}

/** Resolves once the output range a task writes is faulted in (undefined without a prefaulter). */
function touched(planned: PlannedTask, outputs: readonly (Uint8Array | null)[], prefaulter: Prefaulter | null): Promise<void> | undefined {
  const output = outputOf(planned, outputs);
  if (!output || !prefaulter) return undefined;
  const { start, end } = plainRange(planned);
  return prefaulter.through(output, start, end);
}

/**
 * A file: the threadpool reads each kept segment's ciphertext straight into its place in the
 * output (and its tag aside), where the calling thread then decrypts it in place. No ciphertext
 * buffer, no copy, and the output's page faults are taken by the reading threads.
 */
function fileInput(fd: number, outputs: readonly (Uint8Array | null)[], shape: TaskShape, prefaulter: Prefaulter | null): TaskInput {
  const scratch = new ScratchPool(shape.largest);
  const reads = new InFlight();
  return {
    async fetch(planned) {
      const { task } = planned;
      const entryOutput = outputOf(planned, outputs);
      if (!entryOutput) {
        const buffer = scratch.take();
        await reads.track(readViews(fd, [buffer.subarray(0, planned.length)], planned.position));
        return { segmentAt: contiguous(planned, buffer), release: () => scratch.give(buffer) };
      }
      // With workers, others write this output too, and the prefaulter runs ahead of them all.
      await reads.track(touched(planned, outputs, prefaulter) ?? Promise.resolve());
      const output = entryOutput.subarray(plainRange(planned).start);
      const tags = new Uint8Array(task.count * TAG_LENGTH);
      const bodyOf = (s: number) => {
        const start = (s - task.firstSegment) * task.segmentSize;
        return output.subarray(start, start + sealedLength(task, s) - TAG_LENGTH);
      };
      const tagOf = (s: number) => tags.subarray((s - task.firstSegment) * TAG_LENGTH, (s - task.firstSegment + 1) * TAG_LENGTH);
      const views: Uint8Array[] = [];
      for (let s = task.firstSegment; s < task.firstSegment + task.count; s++) views.push(bodyOf(s), tagOf(s));
      await reads.track(readViews(fd, views, planned.position));
      return { segmentAt: (s) => ({ body: bodyOf(s), tag: tagOf(s) }), release() {} };
    },
    settle: () => reads.settle(),
  };
}

/** Bytes in memory: decrypted where they lie, into output the prefaulter touched first. */
function bytesInput(
  reader: Reader & { kind: 'random' },
  outputs: readonly (Uint8Array | null)[],
  prefaulter: Prefaulter | null,
): TaskInput {
  const touches = new InFlight();
  return {
    async fetch(planned) {
      await touches.track(touched(planned, outputs, prefaulter) ?? Promise.resolve());
      return { segmentAt: contiguous(planned, reader.read(planned.position, planned.length)), release() {} };
    },
    settle: () => touches.settle(),
  };
}

/** Copies a task's sealed bytes from a stream, in order, into `into`. */
export async function readStreamTask(reader: SequentialReader, into: Uint8Array, turns: Turns): Promise<void> {
  const piece = 1024 * 1024;
  for (let done = 0; done < into.length; done += piece) {
    await reader.readInto(into.subarray(done, Math.min(done + piece, into.length)));
    // Buffered chunks come through microtasks: megabytes of them would hold the event loop.
    await turns.maybe();
  }
}

/** A stream: read in order into reused buffers, decrypted from there into touched output. */
function streamInput(
  reader: SequentialReader,
  outputs: readonly (Uint8Array | null)[],
  shape: TaskShape,
  prefaulter: Prefaulter | null,
  turns: Turns,
): TaskInput {
  const scratch = new ScratchPool(shape.largest);
  const work = new InFlight();
  // Reads go one after the other whatever the number of tasks in flight; after a failed one, the
  // stream's position is unknown and every later read fails too.
  let previous: Promise<void> = Promise.resolve();
  return {
    async fetch(planned) {
      const buffer = scratch.take();
      const read = previous.then(() => readStreamTask(reader, buffer.subarray(0, planned.length), turns));
      previous = read;
      try {
        await work.track(Promise.all([read, touched(planned, outputs, prefaulter)]));
      } catch (error) {
        scratch.give(buffer);
        throw error;
      }
      return { segmentAt: contiguous(planned, buffer), release: () => scratch.give(buffer) };
    },
    settle: () => work.settle(),
  };
}

/** The calling thread's input for a source. */
export function taskInput(
  reader: Reader,
  outputs: readonly (Uint8Array | null)[],
  shape: TaskShape,
  prefaulter: Prefaulter | null,
  turns: Turns,
): TaskInput {
  if (reader.kind === 'sequential') return streamInput(reader, outputs, shape, prefaulter, turns);
  if (reader.fd !== undefined) return fileInput(reader.fd, outputs, shape, prefaulter);
  return bytesInput(reader, outputs, prefaulter);
}
