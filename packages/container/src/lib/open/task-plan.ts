import type { ParsedHeader } from '../format/header-codec.js';
import type { EntryLayout } from '../format/payload-layout.js';
import { TAG_LENGTH } from '../format/limits.js';
import { taskSealedLength, type SegmentTask, type TaskResult } from '../parallel/segment-tasks.js';

/**
 * Plaintext bytes per task for workers: large enough to amortise messaging (~0.1 ms a round trip),
 * small enough to balance the workers and to bound the buffers in flight.
 */
export const WORKER_TASK_BYTES = 2 * 1024 * 1024;
/**
 * Plaintext bytes per task when the calling thread decrypts a file or bytes: each task is one
 * request to the threadpool (a file read, a prefault), and handing one to an idle pool thread
 * costs the caller ~0.2 ms on a virtual machine (measured: 1 MiB tasks spent 220 ms of a 1 GiB
 * open there). 8 MiB keeps that below 3 % and one task's work, between two turns of the event
 * loop, at 3–10 ms. (A stream's tasks are copied into buffers: they stay at WORKER_TASK_BYTES.)
 */
export const CALLING_THREAD_TASK_BYTES = 8 * 1024 * 1024;

/** A task and where its sealed bytes lie. */
export interface PlannedTask {
  /** Position in payload order (0, 1, …). */
  readonly id: number;
  readonly task: SegmentTask;
  /** Position of the task's first sealed byte, from the start of the container. */
  readonly position: number;
  readonly length: number;
}

export interface PlanOptions {
  /** Entries to decrypt (by index); the others are skipped, or only hashed. */
  readonly entries: ReadonlySet<number>;
  /** Compute the payload digest (needs every segment). */
  readonly digest: boolean;
}

/** Which entries' segments are read: the decrypted ones, or all of them for a digest or a stream. */
export function entriesRead(layouts: EntryLayout[], options: PlanOptions, readAll: boolean): EntryLayout[] {
  return layouts.filter((layout) => options.entries.has(layout.index) || options.digest || readAll);
}

function segmentsPerTask(segmentSize: number, taskBytes: number): number {
  return Math.max(1, Math.floor(taskBytes / segmentSize));
}

/**
 * The tasks, in payload order, made one at a time: a stream's header may claim far more segments
 * than the stream holds, so nothing is planned (or allocated) ahead of what is actually read.
 */
export function* planTasks(header: ParsedHeader, layouts: EntryLayout[], options: PlanOptions, taskBytes: number): Generator<PlannedTask> {
  const stride = header.segmentSize + TAG_LENGTH;
  const perTask = segmentsPerTask(header.segmentSize, taskBytes);
  let id = 0;
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
      yield { id: id++, task, position, length: taskSealedLength(task) };
    }
  }
}

/** Number of tasks and the largest task's sealed length, without planning them. */
export interface TaskShape {
  readonly count: number;
  /** Sealed length of the largest task, and of the largest segment. */
  readonly largest: number;
  readonly largestSegment: number;
}

export function taskShape(layouts: EntryLayout[], segmentSize: number, taskBytes: number): TaskShape {
  const perTask = segmentsPerTask(segmentSize, taskBytes);
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

/** The range [start, end) of its entry's plaintext a task writes. */
export function plainRange(planned: PlannedTask): { start: number; end: number } {
  const { task } = planned;
  return {
    start: task.firstSegment * task.segmentSize,
    end: Math.min(task.entrySize, (task.firstSegment + task.count) * task.segmentSize),
  };
}

/** What a run has done so far: results in payload order, and how far each output may have been written. */
export class RunState {
  readonly results: (TaskResult | undefined)[] = [];
  readonly written: number[];
  constructor(entryCount: number) {
    this.written = new Array<number>(entryCount).fill(0);
  }
  /** Called before anything may write a task's output range (a read, a worker, the decryptor). */
  touched(planned: PlannedTask): void {
    const entry = planned.task.entryIndex;
    this.written[entry] = Math.max(this.written[entry]!, plainRange(planned).end);
  }
}
