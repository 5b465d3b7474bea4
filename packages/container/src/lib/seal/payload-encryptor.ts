import { availableParallelism } from 'node:os';
import { TAG_LENGTH } from '../format/limits.js';
import { encryptSegments, sealTaskOutputLength, type SealTask } from '../parallel/segment-tasks.js';
import { nextTurn } from '../util/event-loop-turns.js';
import { QUEUE_DEPTH, WorkerPool, type PoolWorker } from '../parallel/worker-pool.js';
import type { EncryptJob, EncryptOutput } from '../parallel/worker-protocol.js';

/**
 * From this many plaintext bytes on, sealing uses worker threads (the calling thread encrypts while
 * they start). Measured (2 cores, from memory, inline vs 2 workers): 64 MiB 71 vs 93 ms, 128 MiB
 * 137 vs 133 ms, 256 MiB 268 vs 197 ms.
 */
const PARALLEL_THRESHOLD = 128 * 1024 * 1024;
/** Plaintext bytes per task (whole segments; at least one). */
const TASK_BYTES = 2 * 1024 * 1024;

/** A task sent to a worker. */
interface Posted {
  readonly id: number;
  readonly task: SealTask;
}

interface Done {
  readonly task: SealTask;
  readonly sealed: ArrayBuffer;
  readonly hashes: Uint8Array;
}

/**
 * Encrypts and hashes the payload, task by task, and writes the sealed tasks in payload order.
 * Plaintext is read into buffers this encryptor lends out (`acquire`), encrypted here or by
 * workers into sealed buffers, written, and both buffers are reused: memory stays bounded (at
 * most `limit` tasks between reading and writing) and nothing is copied twice. The segment hashes
 * come back in global segment order, whatever order the workers finish in.
 */
export class PayloadEncryptor {
  /** Plaintext capacity of one task buffer: whole segments. */
  readonly taskCapacity: number;
  readonly #key: Uint8Array;
  readonly #segmentSize: number;
  readonly #write: (bytes: Uint8Array) => Promise<void>;
  readonly #report: (plainBytes: number) => void;
  readonly #limit: number;
  readonly #workerCount: number;
  /** The workers (none below the threshold) and the run's failure, signal included. */
  readonly #pool: WorkerPool<EncryptJob, EncryptOutput, Posted>;
  #plainFree: ArrayBuffer[] = [];
  #plainCount = 0;
  #sealedFree: ArrayBuffer[] = [];
  #nextId = 0;
  #nextWrite = 0;
  #pushedBytes = 0;
  #finished = new Map<number, Done>();
  #hashes: Uint8Array[] = [];
  #writing = false;

  constructor(
    key: Uint8Array,
    segmentSize: number,
    knownTotal: number | null,
    write: (bytes: Uint8Array) => Promise<void>,
    report: (plainBytes: number) => void,
    signal?: AbortSignal,
  ) {
    this.#key = key;
    this.#segmentSize = segmentSize;
    this.#write = write;
    this.#report = report;
    this.taskCapacity = Math.max(1, Math.floor(TASK_BYTES / segmentSize)) * segmentSize;
    this.#workerCount = knownTotal !== null && knownTotal < PARALLEL_THRESHOLD ? 0 : availableParallelism();
    // Tasks between reading and writing: enough to keep every worker's queue full, plus the one
    // being read and the one held back until the next byte is known (the last-segment flag).
    this.#limit = this.#workerCount * QUEUE_DEPTH + 2;
    this.#pool = new WorkerPool({
      name: 'encrypt',
      signal,
      onReply: (posted, hashes, buffers) => this.#takeReply(posted, hashes, buffers),
    });
    if (knownTotal !== null && knownTotal >= PARALLEL_THRESHOLD) this.#startWorkers();
  }

  /** A plaintext buffer of `taskCapacity` bytes; waits while too many tasks are in flight. */
  async acquire(): Promise<ArrayBuffer> {
    for (;;) {
      this.#throwIfFailed();
      const free = this.#plainFree.pop();
      if (free) return free;
      if (this.#plainCount < this.#limit + 1) {
        this.#plainCount++;
        return new ArrayBuffer(this.taskCapacity);
      }
      await this.#pool.nextChange();
    }
  }

  /** Gives back a buffer that was not used. */
  release(buffer: ArrayBuffer): void {
    this.#plainFree.push(buffer);
  }

  /** Queues a task whose plaintext is in `buffer` (from `acquire`, handed over). */
  async push(task: SealTask, buffer: ArrayBuffer): Promise<void> {
    this.#pushedBytes += task.length;
    if (!this.#pool.started && this.#workerCount > 0 && this.#pushedBytes >= PARALLEL_THRESHOLD) this.#startWorkers();
    for (;;) {
      this.#throwIfFailed();
      if (this.#nextId - this.#nextWrite < this.#limit) {
        const placement = this.#pool.placement();
        if (placement === 'here') {
          // No workers (small payload), or they are still starting: encrypt here.
          this.#encryptHere(task, buffer);
          await nextTurn();
          return;
        }
        if (placement !== 'wait') return this.#dispatch(placement, task, buffer);
      }
      await this.#pool.nextChange();
    }
  }

  /** Waits until every task is written; returns the segment hashes in payload order. */
  async finish(): Promise<Uint8Array[]> {
    while (this.#nextWrite < this.#nextId) {
      this.#throwIfFailed();
      await this.#pool.nextChange();
    }
    this.#throwIfFailed();
    return this.#hashes;
  }

  /** Stops the workers (they wipe their key). Call it in every case, after finish or a failure. */
  async close(): Promise<void> {
    await this.#pool.close();
  }

  #throwIfFailed(): void {
    if (this.#pool.error) throw this.#pool.error;
  }

  #sealedBuffer(): ArrayBuffer {
    return this.#sealedFree.pop() ?? new ArrayBuffer(this.taskCapacity + (this.taskCapacity / this.#segmentSize) * TAG_LENGTH);
  }

  #encryptHere(task: SealTask, buffer: ArrayBuffer): void {
    const id = this.#nextId++;
    const sealed = this.#sealedBuffer();
    const hashes = encryptSegments(
      task,
      this.#key,
      new Uint8Array(buffer, 0, task.length),
      new Uint8Array(sealed, 0, sealTaskOutputLength(task)),
    );
    this.#plainFree.push(buffer);
    this.#completed(id, { task, sealed, hashes });
  }

  #dispatch(worker: PoolWorker, task: SealTask, plain: ArrayBuffer): void {
    const id = this.#nextId++;
    this.#pool.post(worker, id, task, [plain, this.#sealedBuffer()], { id, task });
  }

  /** A worker's task is back with both buffers; after an error, the pool has failed the run. */
  #takeReply({ id, task }: Posted, hashes: EncryptOutput | null, [plain, sealed]: ArrayBuffer[]): void {
    this.#plainFree.push(plain!);
    if (hashes === null) this.#sealedFree.push(sealed!);
    else this.#completed(id, { task, sealed: sealed!, hashes });
  }

  #completed(id: number, done: Done): void {
    this.#finished.set(id, done);
    if (!this.#writing) void this.#writeInOrder();
    this.#pool.changed();
  }

  /** Writes finished tasks in payload order, one write at a time (sinks track their position). */
  async #writeInOrder(): Promise<void> {
    this.#writing = true;
    try {
      for (let done = this.#finished.get(this.#nextWrite); done && !this.#pool.error; done = this.#finished.get(this.#nextWrite)) {
        this.#finished.delete(this.#nextWrite);
        await this.#write(new Uint8Array(done.sealed, 0, sealTaskOutputLength(done.task)));
        this.#hashes.push(done.hashes);
        this.#sealedFree.push(done.sealed);
        this.#nextWrite++;
        this.#report(done.task.length);
        this.#pool.changed();
      }
    } catch (error) {
      this.#pool.fail(error as Error);
    } finally {
      this.#writing = false;
    }
  }

  #startWorkers(): void {
    this.#pool.start(this.#workerCount, this.#key, { kind: 'encrypt' });
  }
}
