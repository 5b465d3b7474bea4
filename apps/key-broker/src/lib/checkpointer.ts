import { Worker } from 'node:worker_threads';

/** A worker thread that checkpoints the database's WAL every `intervalMs`. */
export class Checkpointer {
  readonly #worker: Worker;

  constructor(path: string, intervalMs: number) {
    this.#worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { path, intervalMs } });
    this.#worker.unref();
    this.#worker.on('error', () => {}); // a failed checkpoint thread leaves the WAL to grow until close
  }

  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      this.#worker.once('message', () => (clearTimeout(timer), resolve()));
      this.#worker.once('exit', () => (clearTimeout(timer), resolve()));
    });
    this.#worker.postMessage('stop');
    await stopped;
    await this.#worker.terminate();
  }
}
