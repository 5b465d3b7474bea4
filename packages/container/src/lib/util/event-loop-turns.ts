/**
 * Lets the event loop turn between pieces of long work. An `await` alone does not: a promise that
 * is already settled (a stream chunk that is buffered, a read that finished) resumes through the
 * microtask queue, and the timers and I/O of the host application keep waiting.
 */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Work done between two turns of the event loop, at most: far below the 50 ms a host may notice
 * (its health checks, its requests), and a turn costs only microseconds.
 */
const TURN_BUDGET_MS = 5;

/** Yields to the event loop once TURN_BUDGET_MS of work has passed since the last turn. */
export class Turns {
  #last = performance.now();

  /** Call between pieces of work; resolves at once while the budget lasts. */
  async maybe(): Promise<void> {
    if (performance.now() - this.#last < TURN_BUDGET_MS) return;
    await nextTurn();
    this.#last = performance.now();
  }
}
