import { Worker } from 'node:worker_threads';
import { AbortError, IoError } from '../../errors.js';
import type { TaskMessage, TaskReply, WorkerReply, WorkerSetup } from './worker-protocol.js';

/** Tasks queued on each worker, so it never idles waiting for the calling thread between two. */
export const QUEUE_DEPTH = 2;

/** One worker thread of the pool, as the calling thread sees it. */
export interface PoolWorker {
  readonly thread: Worker;
  ready: boolean;
  dead: boolean;
  inFlight: number;
}

/** Where the next task goes: see {@link WorkerPool.placement}. */
export type Placement = PoolWorker | 'here' | 'wait';

export interface WorkerPoolOptions<Output, Context> {
  /** What the workers do ('decrypt', 'encrypt'), for the errors that name them. */
  readonly name: string;
  /** Aborting fails the run with an `AbortError`; {@link WorkerPool.close} then stops the workers. */
  readonly signal: AbortSignal | undefined;
  /**
   * A task came back, with the buffers it lent (transferred back, to reuse or wipe). `output` is
   * null when the task threw in the worker: the pool has failed the run already.
   */
  readonly onReply: (context: Context, output: Output | null, buffers: ArrayBuffer[]) => void;
}

/**
 * The worker threads of one run (a parallel open or seal), and the run's state of failure: a
 * worker that dies, a task that throws, the signal and the owner's own failures all fail the run,
 * wake whoever waits, and raise a flag the workers read between segments. Each worker gets its
 * own copy of the key, moved (not cloned) so that no copy stays on this side; it wipes it when it
 * closes. The owner places each task: on a ready worker with room in its queue, or on the calling
 * thread while no worker is up (tasks are not kept waiting for workers that are still starting).
 */
export class WorkerPool<Job, Output, Context> {
  readonly #name: string;
  readonly #onReply: WorkerPoolOptions<Output, Context>['onReply'];
  readonly #abortFlag = new Int32Array(new SharedArrayBuffer(4));
  readonly #contexts = new Map<number, Context>();
  readonly #unlisten: () => void;
  #workers: PoolWorker[] = [];
  #failed = false;
  #error: Error | undefined;
  #closing = false;
  #wake: () => void = () => {};

  constructor(options: WorkerPoolOptions<Output, Context>) {
    this.#name = options.name;
    this.#onReply = options.onReply;
    const { signal } = options;
    const onAbort = () => this.fail(new AbortError(signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#unlisten = () => signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) onAbort();
  }

  /** Starts `count` workers set up with `setup`, each with its own copy of `key`. */
  start(count: number, key: Uint8Array, setup: WorkerSetup): void {
    this.#workers = Array.from({ length: count }, () => {
      const worker: PoolWorker = {
        thread: new Worker(new URL('./segment-worker.js', import.meta.url)),
        ready: false,
        dead: false,
        inFlight: 0,
      };
      worker.thread.on('message', (reply: WorkerReply<Output>) => {
        if (reply.type === 'ready') worker.ready = true;
        else this.#takeReply(worker, reply);
        this.changed();
      });
      worker.thread.on('error', (error) => {
        worker.dead = true;
        this.fail(new IoError(`${this.#name} worker failed: ${error.message}`, { cause: error }));
      });
      worker.thread.on('exit', () => {
        worker.dead = true;
        if (!this.#closing) this.fail(new IoError(`${/^[aeiou]/.test(this.#name) ? 'an' : 'a'} ${this.#name} worker stopped unexpectedly`));
        this.changed();
      });
      const keyCopy = Uint8Array.from(key);
      worker.thread.postMessage({ type: 'init', key: keyCopy, abort: this.#abortFlag.buffer, setup }, [keyCopy.buffer]);
      return worker;
    });
  }

  get started(): boolean {
    return this.#workers.length > 0;
  }

  /** Whether the run failed: an error, the signal, or a task that did not authenticate. */
  get failed(): boolean {
    return this.#failed;
  }

  /** What the run failed with; undefined while it has not, or for a failure without an error. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Tasks posted whose reply has not come yet. */
  get pending(): number {
    return this.#contexts.size;
  }

  /** Fails the run (the first error is kept): the workers stop at their next segment. */
  fail(error?: Error): void {
    this.#error ??= error;
    this.#failed = true;
    Atomics.store(this.#abortFlag, 0, 1);
    this.changed();
  }

  /** Wakes the one waiting in {@link nextChange}. */
  changed(): void {
    this.#wake();
  }

  /** Resolves at the next reply, failure or {@link changed} call. */
  nextChange(): Promise<void> {
    return new Promise<void>((resolve) => (this.#wake = resolve));
  }

  /**
   * Where the next task goes: the least busy ready worker with room in its queue; 'here' while no
   * worker is up (none started, or some still starting: the calling thread works rather than
   * waits); else 'wait' until a worker has room ({@link nextChange}).
   */
  placement(): Placement {
    const live = this.#workers.filter((worker) => !worker.dead);
    const free = live.filter((worker) => worker.ready && worker.inFlight < QUEUE_DEPTH).sort((a, b) => a.inFlight - b.inFlight)[0];
    if (free) return free;
    return live.length === 0 || live.some((worker) => !worker.ready) ? 'here' : 'wait';
  }

  /** Sends a task to `worker`, lending it `buffers` (transferred); `context` comes back with the reply. */
  post(worker: PoolWorker, id: number, job: Job, buffers: ArrayBuffer[], context: Context): void {
    worker.inFlight++;
    this.#contexts.set(id, context);
    worker.thread.postMessage({ type: 'task', id, job, buffers } satisfies TaskMessage<Job>, buffers);
  }

  /**
   * Ends the run's workers; call it in every case. After a success, ready workers wipe their key
   * and exit; the others (or all, after a failure) are stopped, so that none writes anything
   * once this resolves.
   */
  async close(): Promise<void> {
    this.#unlisten();
    this.#closing = true;
    await Promise.all(
      this.#workers.map((worker) => {
        if (worker.dead) return Promise.resolve();
        if (this.#failed || !worker.ready) return worker.thread.terminate();
        const exited = new Promise<void>((resolve) => worker.thread.once('exit', () => resolve()));
        worker.thread.postMessage({ type: 'close' });
        return exited;
      }),
    );
  }

  #takeReply(worker: PoolWorker, reply: TaskReply<Output>): void {
    worker.inFlight--;
    const context = this.#contexts.get(reply.id)!;
    this.#contexts.delete(reply.id);
    if (reply.type === 'error') this.fail(new IoError(`${this.#name} worker failed: ${reply.message}`));
    this.#onReply(context, reply.type === 'result' ? reply.output : null, reply.buffers);
  }
}
