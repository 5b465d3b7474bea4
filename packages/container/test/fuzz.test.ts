/**
 * Header fuzz target (issue 10): 10^5 mutated headers in a CI-sized run. Every case must end in a
 * result or a typed OvsealError, the run must finish (no hang: the test's timeout bounds it), and
 * the resident memory must stay bounded. `pnpm fuzz` runs the same engine far longer.
 */
import { describe, expect, test } from 'vitest';
// @ts-expect-error plain ESM module without types (shared with scripts/fuzz.mjs)
import { fuzzHeaders, mutate, prng, seedContainers } from './fuzz/header-fuzz.mjs';
import { testKey, TestRecipient } from './helpers.js';

const ITERATIONS = 100_000;

describe('header fuzzing', () => {
  test('mutations are reproducible from their seed (so a failure can be replayed)', async () => {
    const { recipient } = testKey();
    const seeds = await seedContainers({ recipient, extraRecipient: new TestRecipient(new Uint8Array(32).fill(3)) });
    const a = mutate(seeds[1], prng(42), seeds);
    const b = mutate(seeds[1], prng(42), seeds);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(seeds[1]))).toBe(false);
  });

  test(`${ITERATIONS} mutated headers: only typed errors, bounded memory`, async () => {
    const { recipient, identity } = testKey();
    const seeds = await seedContainers({ recipient, extraRecipient: new TestRecipient(new Uint8Array(32).fill(3)) });
    const startRss = process.memoryUsage.rss();
    const result = await fuzzHeaders({ seeds, identity, iterations: ITERATIONS, seed: 20261126 });
    console.log(
      `[header fuzz] ${ITERATIONS} cases: ${JSON.stringify(result.outcomes)}; peak RSS +${((result.peakRss - startRss) / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(result.failures.slice(0, 3)).toEqual([]);
    // Every kind of refusal shows up, and some mutations still parse (padding, dates, payload bytes).
    expect(Object.keys(result.outcomes)).toEqual(
      expect.arrayContaining([
        'ok',
        'ERR_MALFORMED_HEADER',
        'ERR_LIMIT_EXCEEDED',
        'ERR_AUTHENTICATION_FAILED',
        'ERR_TRUNCATED',
        'ERR_UNSUPPORTED_VERSION',
      ]),
    );
    expect(result.peakRss - startRss).toBeLessThan(256 * 2 ** 20);
  });
});
