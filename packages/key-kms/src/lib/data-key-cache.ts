import { createHash } from 'node:crypto';

import type { KmsCacheOptions } from '../options.js';

interface Entry {
  readonly dataKey: Uint8Array;
  readonly expiresAt: number;
  usesLeft: number;
}

/**
 * Unwrapped data keys by (key ARN, wrapped key, encryption context). The map key is a SHA-256 of
 * those public values, so nothing secret is used as a key; values are copies, zeroed on eviction.
 */
export class DataKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxUses: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: KmsCacheOptions) {
    this.ttlMs = options.ttlMs ?? 300_000;
    this.maxUses = options.maxUses ?? 100;
    this.maxEntries = options.maxEntries ?? 64;
    this.now = options.now ?? Date.now;
    if (!(this.ttlMs > 0) || !(this.maxUses >= 1) || !(this.maxEntries >= 1)) {
      throw new RangeError('cache ttlMs, maxUses and maxEntries must be positive');
    }
  }

  static keyOf(keyArn: string, wrapped: Uint8Array, context: Readonly<Record<string, string>>): string {
    const sortedContext = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return createHash('sha256')
      .update(JSON.stringify([keyArn, Buffer.from(wrapped).toString('base64'), sortedContext]))
      .digest('hex');
  }

  /** A copy of the cached data key, counting one use; undefined if absent, expired or used up. */
  take(key: string): Uint8Array | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.evict(key);
      return undefined;
    }
    const copy = Uint8Array.from(entry.dataKey);
    entry.usesLeft -= 1;
    if (entry.usesLeft <= 0) this.evict(key);
    return copy;
  }

  /** Stores a copy; the caller's own use counts as the first use. */
  put(key: string, dataKey: Uint8Array): void {
    if (this.maxUses <= 1) return;
    this.evict(key);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.evict(oldest);
    }
    this.entries.set(key, { dataKey: Uint8Array.from(dataKey), expiresAt: this.now() + this.ttlMs, usesLeft: this.maxUses - 1 });
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    for (const key of [...this.entries.keys()]) this.evict(key);
  }

  private evict(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.dataKey.fill(0);
    this.entries.delete(key);
  }
}
