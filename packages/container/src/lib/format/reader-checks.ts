import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Every refusal a reader makes, named by the rule of docs/FORMAT.md it enforces. Each check site
 * calls {@link refuse} with its rule id, so that the format's test vectors can be shown to catch a
 * reader that skips any one check (packages/container/test/reader-checks.test.ts runs them with
 * each check skipped in turn and expects a vector to notice).
 *
 * Rules without an entry here are not checks that can be left out: a read past the end of the
 * input, a failing key-wrap integrity check inside a token, or the order of the checks.
 */
// One row per part of the spec:
// prettier-ignore
export const READER_CHECKS = [
  'R-PRE-1', 'R-PRE-2', 'R-PRE-3', 'R-PRE-4', 'R-PRE-6', 'R-PRE-7',
  'R-HDR-2', 'R-HDR-3', 'R-UTF8-1', 'R-TIME-1', 'R-SEG-1', 'R-SEG-2',
  'R-META-1', 'R-META-2', 'R-META-3', 'R-META-4', 'R-TEXT-1', 'R-FMT-1',
  'R-ENT-1', 'R-ENT-2', 'R-ENT-3', 'R-ENT-4', 'R-ENT-5',
  'R-PATH-1', 'R-PATH-2', 'R-PATH-3', 'R-PATH-4',
  'R-SIG-1', 'R-STZ-1', 'R-STZ-2', 'R-STZ-3', 'R-STZ-4', 'R-STZ-5', 'R-STZ-6', 'R-STZ-7',
  'R-SIG-2', 'R-SIG-3', 'R-SIG-4',
  'R-KEY-1', 'R-KEY-2', 'R-FILE-1', 'R-FILE-2', 'R-P11-1', 'R-P11-3',
  'R-COMMIT-1', 'R-MAC-1', 'R-EXP-1', 'R-LEN-1', 'R-TAG-1', 'R-DIG-1',
] as const;

export type ReaderCheck = (typeof READER_CHECKS)[number];

/**
 * The checks skipped in the current asynchronous context: always none, except inside
 * {@link withReaderChecksSkipped}. Scoped to one call chain, so nothing a test does can weaken
 * another caller's reads in the same process; worker threads never see it (they always check).
 */
const skipped = new AsyncLocalStorage<ReadonlySet<ReaderCheck>>();

/** Whether `check` is made here (true everywhere but in the seam test). */
export function enforced(check: ReaderCheck): boolean {
  return !skipped.getStore()?.has(check);
}

/** Throws `error()` for a broken rule, unless that check is skipped (then the reader reads on). */
export function refuse(check: ReaderCheck, error: () => Error): void {
  if (enforced(check)) throw error();
}

/**
 * Test-only seam, not part of the package's API (neither `src/index.ts` nor the exports map name
 * it): runs `body` as a reader that leaves out `checks`.
 */
export function withReaderChecksSkipped<T>(checks: readonly ReaderCheck[], body: () => Promise<T>): Promise<T> {
  return skipped.run(new Set(checks), body);
}
