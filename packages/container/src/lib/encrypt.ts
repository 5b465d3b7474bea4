import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AbortError, IoError } from '../errors.js';
import type { EncryptInitMessage, EncryptTaskMessage, EncryptWorkerReply } from './encrypt-worker.js';
import { TAG_LENGTH } from './limits.js';
import { encryptSegments, sealTaskOutputLength, type SealTask } from './segment-task.js';

/**
 * From this many plaintext bytes on, sealing uses worker threads (the calling thread encrypts while
 * they start). Measured (2 cores, from memory, inline vs 2 workers): 64 MiB 71 vs 93 ms, 128 MiB
 * 137 vs 133 ms, 256 MiB 268 vs 197 ms.
 */
const PARALLEL_THRESHOLD = 128 * 1024 * 1024;
/** Plaintext bytes per task (whole segments; at least one). */
const TASK_BYTES = 2 * 1024 * 1024;
/** Tasks queued on each worker, so it never idles waiting for the main thread between two. */
const QUEUE_DEPTH = 2;

interface WorkerSlot {
  readonly worker: Worker;
  ready: boolean;
  dead: boolean;
  inFlight: number;
}

interface Done {
  readonly task: SealTask;
  readonly sealed: ArrayBuffer;
  readonly hashes: Uint8Array;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

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
  #slots: WorkerSlot[] = [];
  #plainFree: ArrayBuffer[] = [];
  #plainCount = 0;
  #sealedFree: ArrayBuffer[] = [];
  #nextId = 0;
  #nextWrite = 0;
  #pushedBytes = 0;
  #inFlight = new Map<number, SealTask>();
  #finished = new Map<number, Done>();
  #hashes: Uint8Array[] = [];
  #writing = false;
  #error: Error | undefined;
  #wake: () => void = () => {};
  #unlisten: () => void = () => {};

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
    if (knownTotal !== null && knownTotal >= PARALLEL_THRESHOLD) this.#startWorkers();
    if (signal) {
      const onAbort = () => this.#fail(new AbortError(signal.reason));
      if (signal.aborted) onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#unlisten = () => signal.removeEventListener('abort', onAbort);
    }
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
      await this.#nextChange();
    }
  }

  /** Gives back a buffer that was not used. */
  release(buffer: ArrayBuffer): void {
    this.#plainFree.push(buffer);
  }

  /** Queues a task whose plaintext is in `buffer` (from `acquire`, handed over). */
  async push(task: SealTask, buffer: ArrayBuffer): Promise<void> {
    this.#pushedBytes += task.length;
    if (this.#slots.length === 0 && this.#workerCount > 0 && this.#pushedBytes >= PARALLEL_THRESHOLD) this.#startWorkers();
    for (;;) {
      this.#throwIfFailed();
      if (this.#nextId - this.#nextWrite < this.#limit) {
        const live = this.#slots.filter((slot) => !slot.dead);
        const free = live.filter((slot) => slot.ready && slot.inFlight < QUEUE_DEPTH).sort((a, b) => a.inFlight - b.inFlight)[0];
        if (free) return this.#dispatch(free, task, buffer);
        if (live.length === 0 || live.some((slot) => !slot.ready)) {
          // No workers (small payload), or they are still starting: encrypt here.
          this.#encryptHere(task, buffer);
          await nextTurn();
          return;
        }
      }
      await this.#nextChange();
    }
  }

  /** Waits until every task is written; returns the segment hashes in payload order. */
  async finish(): Promise<Uint8Array[]> {
    while (this.#nextWrite < this.#nextId) {
      this.#throwIfFailed();
      await this.#nextChange();
    }
    this.#throwIfFailed();
    return this.#hashes;
  }

  /** Stops the workers (they wipe their key). Call it in every case, after finish or a failure. */
  async close(): Promise<void> {
    this.#unlisten();
    const slots = this.#slots;
    this.#slots = [];
    await Promise.all(
      slots.map((slot) => {
        if (slot.dead) return Promise.resolve();
        slot.dead = true;
        if (!slot.ready || this.#error) return slot.worker.terminate();
        const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
        slot.worker.postMessage({ type: 'close' });
        return exited;
      }),
    );
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }

  #nextChange(): Promise<void> {
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }

  #changed(): void {
    this.#wake();
  }

  #fail(error: Error): void {
    this.#error ??= error;
    this.#changed();
  }

  #sealedBuffer(): ArrayBuffer {
    return this.#sealedFree.pop() ?? new ArrayBuffer(this.taskCapacity + (this.taskCapacity / this.#segmentSize) * TAG_LENGTH);
  }

  #encryptHere(task: SealTask, buffer: ArrayBuffer): void {
    const id = this.#nextId++;
    const sealed = this.#sealedBuffer();
    const hashes = encryptSegments(task, this.#key, new Uint8Array(buffer, 0, task.length), new Uint8Array(sealed, 0, sealTaskOutputLength(task)));
    this.#plainFree.push(buffer);
    this.#completed(id, { task, sealed, hashes });
  }

  #dispatch(slot: WorkerSlot, task: SealTask, plain: ArrayBuffer): void {
    const id = this.#nextId++;
    const sealed = this.#sealedBuffer();
    slot.inFlight++;
    this.#inFlight.set(id, task);
    slot.worker.postMessage({ type: 'task', id, task, plain, sealed } satisfies EncryptTaskMessage, [plain, sealed]);
  }

  #completed(id: number, done: Done): void {
    this.#finished.set(id, done);
    if (!this.#writing) void this.#writeInOrder();
    this.#changed();
  }

  /** Writes finished tasks in payload order, one write at a time (sinks track their position). */
  async #writeInOrder(): Promise<void> {
    this.#writing = true;
    try {
      for (let done = this.#finished.get(this.#nextWrite); done && !this.#error; done = this.#finished.get(this.#nextWrite)) {
        this.#finished.delete(this.#nextWrite);
        await this.#write(new Uint8Array(done.sealed, 0, sealTaskOutputLength(done.task)));
        this.#hashes.push(done.hashes);
        this.#sealedFree.push(done.sealed);
        this.#nextWrite++;
        this.#report(done.task.length);
        this.#changed();
      }
    } catch (error) {
      this.#fail(error as Error);
    } finally {
      this.#writing = false;
    }
  }

  #startWorkers(): void {
    this.#slots = Array.from({ length: this.#workerCount }, () => {
      const slot: WorkerSlot = { worker: new Worker(new URL('./encrypt-worker.js', import.meta.url)), ready: false, dead: false, inFlight: 0 };
      slot.worker.on('message', (reply: EncryptWorkerReply) => {
        if (reply.type === 'ready') {
          slot.ready = true;
          this.#changed();
          return;
        }
        slot.inFlight--;
        const task = this.#inFlight.get(reply.id)!;
        this.#inFlight.delete(reply.id);
        this.#plainFree.push(reply.plain);
        if (reply.type === 'error') {
          this.#sealedFree.push(reply.sealed);
          this.#fail(new IoError(`encrypt worker failed: ${reply.message}`));
          return;
        }
        this.#completed(reply.id, { task, sealed: reply.sealed, hashes: reply.hashes });
      });
      slot.worker.on('error', (error) => {
        slot.dead = true;
        this.#fail(new IoError(`encrypt worker failed: ${error.message}`, { cause: error }));
      });
      slot.worker.on('exit', () => {
        if (!slot.dead) {
          slot.dead = true;
          this.#fail(new IoError('an encrypt worker stopped unexpectedly'));
        }
      });
      const keyCopy = Uint8Array.from(this.#key);
      slot.worker.postMessage({ type: 'init', key: keyCopy } satisfies EncryptInitMessage, [keyCopy.buffer]);
      return slot;
    });
  }
}
