import { open, type FileHandle } from 'node:fs/promises';

/**
 * Bytes touched per threadpool request. Handing a request to an idle pool thread costs the caller
 * ~0.2 ms on a virtual machine, so requests are few and large.
 */
const CHUNK = 8 * 1024 * 1024;

/** How far one output has been asked for, and the touches still running. */
interface OutputProgress {
  requested: number;
  readonly pending: Map<number, Promise<void>>;
}

/**
 * Takes the page faults of fresh output memory off the calling thread. The first write to each
 * 4 KiB page of a new buffer is a page fault, and on virtual machines those are dear: 0.45–0.5 s
 * per GiB measured on the 2-core benchmark machine, more than AES-GCM of that GiB on one core.
 * A `read(2)` from /dev/zero into the buffer, on the libuv threadpool, takes them there instead,
 * ahead of the thread that writes the plaintext. The outputs stay plain memory that only the
 * calling thread writes from JavaScript; where /dev/zero does not exist (Windows) the faults
 * simply stay where they were.
 */
export class Prefaulter {
  readonly #zero: FileHandle;
  readonly #outputs = new Map<Uint8Array, OutputProgress>();
  readonly #inFlight = new Set<Promise<void>>();
  #closed: Promise<void> | undefined;

  private constructor(zero: FileHandle) {
    this.#zero = zero;
  }

  /** A prefaulter, or null where /dev/zero cannot be opened. */
  static async open(): Promise<Prefaulter | null> {
    try {
      return new Prefaulter(await open('/dev/zero', 'r'));
    } catch {
      return null;
    }
  }

  /**
   * Resolves once `output[start, end)` has been touched (filled with zeros), and requests the next
   * chunk ahead meanwhile. Every writer of a prefaulted output awaits this before it writes a
   * range, in increasing order of ranges: a touch landing after the plaintext would erase it. A
   * range before the first one asked for is never touched.
   */
  through(output: Uint8Array, start: number, end: number): Promise<void> {
    let progress = this.#outputs.get(output);
    if (!progress) this.#outputs.set(output, (progress = { requested: start, pending: new Map() }));
    progress.requested = Math.max(progress.requested, start);
    const target = Math.min(output.length, end + CHUNK);
    while (progress.requested < target) {
      const start = progress.requested;
      const stop = Math.min(output.length, start + CHUNK);
      const done = this.#touch(output.subarray(start, stop));
      const pending = progress.pending;
      pending.set(start, done);
      void done.then(() => pending.delete(start));
      progress.requested = stop;
    }
    const needed = [...progress.pending].filter(([chunkStart]) => chunkStart < end).map(([, done]) => done);
    return needed.length === 0 ? Promise.resolve() : Promise.all(needed).then(() => undefined);
  }

  /** Waits until no touch is in flight: nothing writes into the outputs once it resolves. */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** Settles, then closes /dev/zero. Idempotent. */
  async close(): Promise<void> {
    await this.settle();
    this.#closed ??= this.#zero.close().catch(() => undefined);
    await this.#closed;
  }

  #touch(bytes: Uint8Array): Promise<void> {
    // A failed read costs nothing but the speed-up: the faults then happen on first write.
    const done = this.#fill(bytes).catch(() => undefined);
    this.#inFlight.add(done);
    void done.then(() => this.#inFlight.delete(done));
    return done;
  }

  async #fill(bytes: Uint8Array): Promise<void> {
    // A read may return less than asked (a signal, a kernel cap): read on until all is touched.
    for (let done = 0; done < bytes.length;) {
      const { bytesRead } = await this.#zero.read(bytes, done, bytes.length - done, null);
      if (bytesRead === 0) return;
      done += bytesRead;
    }
  }
}
