/**
 * Token buckets by key (a client address, a device id). In memory, per broker process: behind a
 * load balancer each broker limits its own share (README). The map is bounded: the oldest idle
 * buckets go first.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #maxKeys: number;

  constructor(perSecond: number, burst: number, maxKeys = 10_000) {
    this.#rate = perSecond;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** True when the key has no token left (nothing is taken). */
  exhausted(key: string, now = Date.now()): boolean {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return false;
    return Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate) < 1;
  }

  /** Takes one token; returns 0 when allowed, else the seconds to wait. */
  take(key: string, now = Date.now()): number {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.#burst, at: now };
    } else {
      this.#buckets.delete(key); // re-inserted below: the map stays ordered by last use
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
      bucket.at = now;
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate));
  }
}
