import { OpenVinoDisposedError } from '../errors.js';
import type { Pointer } from './bindings.js';

interface Held {
  readonly pointer: Pointer;
  readonly release: (pointer: Pointer) => void;
}

/**
 * The backstop for objects nobody disposed: the native handle is freed once its JS owner is
 * garbage. It holds only the pointer and the free function, never the owner (that would keep the
 * owner alive forever).
 */
const backstop = new FinalizationRegistry<Held>(({ pointer, release }) => release(pointer));

/**
 * Owns one native OpenVINO handle. `dispose()` (or `using`) frees it at once and is idempotent;
 * without it the `FinalizationRegistry` frees it after garbage collection. Using a disposed object
 * throws `OpenVinoDisposedError` instead of touching freed memory. While a call on a worker thread
 * uses the handle (a compile, an asynchronous inference), `dispose()` only marks it: the native
 * object is freed when that call returns.
 */
export class NativeHandle {
  readonly #native: Pointer;
  readonly #release: (pointer: Pointer) => void;
  readonly #what: string;
  #disposed = false;
  #released = false;
  #pins = 0;
  /** JS objects the native side may read from (wrapped memory, the model a compiled model came from). */
  #keepAlive: unknown[];

  constructor(pointer: Pointer, release: (pointer: Pointer) => void, what: string, keepAlive: readonly unknown[] = []) {
    this.#native = pointer;
    this.#release = release;
    this.#what = what;
    this.#keepAlive = [...keepAlive];
    backstop.register(this, { pointer, release }, this);
  }

  /** The native pointer; throws `OpenVinoDisposedError` once disposed. */
  get pointer(): Pointer {
    if (this.#disposed) throw new OpenVinoDisposedError(this.#what);
    return this.#native;
  }

  /** True once `dispose()` was called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Keeps `value` reachable for as long as this handle lives. */
  protected retain(value: unknown): void {
    this.#keepAlive.push(value);
  }

  /** What this handle keeps alive (passed on to objects made from it). */
  protected get retained(): readonly unknown[] {
    return this.#keepAlive;
  }

  /**
   * Keeps the native object (and what it keeps alive) from being freed until `work` settles: a
   * worker thread is using it. Returns `work`'s result.
   */
  async pinnedDuring<T>(work: (pointer: Pointer) => Promise<T>): Promise<T> {
    const pointer = this.pointer;
    this.#pins++;
    try {
      return await work(pointer);
    } finally {
      this.#pins--;
      if (this.#disposed && this.#pins === 0) this.#freeNative();
    }
  }

  /** Frees the native object now, or when the worker-thread calls using it return. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#pins === 0) this.#freeNative();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #freeNative(): void {
    if (this.#released) return;
    this.#released = true;
    backstop.unregister(this);
    this.#release(this.#native);
    this.#keepAlive = [];
  }
}
