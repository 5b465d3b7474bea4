// The vectors catch a reader that leaves out any one check (docs/FORMAT.md §10). The reference
// reader marks each of its checks with the rule it enforces (src/lib/format/reader-checks.ts);
// here the vectors are read with one check left out at a time, through the test-only seam, and at
// least one of them must then be read wrongly. And each vector that "isolates" a rule must open once that rule's
// check is left out: it breaks that rule and no other.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { READER_CHECKS, withReaderChecksSkipped, type ReaderCheck } from '../dist/lib/format/reader-checks.js';
import { expectedOutcome, loadVectors, readVector, SPEC, type Outcome, type Vector } from './spec-vectors.js';

const vectors = loadVectors();
const same = (a: Outcome, b: Outcome) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Rules with failure vectors that are not a check a reader could leave out, and why: they stay out
 * of READER_CHECKS, and every other such rule must be in it.
 */
const NOT_A_CHECK: Readonly<Record<string, string>> = {
  'R-PRE-5': 'a header shorter than a preamble and a MAC has no field to read (left out, R-HDR-1 refuses it alike)',
  'R-HDR-1': 'a field past the end of the header cannot be read at all',
  'R-HDR-4': 'bytes past the end of the input cannot be read at all',
  'R-P11-2': 'the key wrap itself (RFC 5649, OAEP) fails: there is no key to go on with',
  'R-KEY-5': 'what is reported when no key opens the container, not a check',
};

async function readWithout(check: ReaderCheck, vector: Vector): Promise<Outcome> {
  return withReaderChecksSkipped([check], () => readVector(vector));
}

describe('reader checks', () => {
  it('every check is a rule of docs/FORMAT.md, and every rule that refuses a vector is a check (or cannot be left out)', () => {
    const spec = readFileSync(SPEC, 'utf8');
    const defined = new Set([...spec.matchAll(/\*\*(R-[A-Z0-9]+-\d+)\*\* \(MUST\)/g)].map((m) => m[1]!));
    expect(READER_CHECKS.filter((check) => !defined.has(check))).toEqual([]);
    const refusing = new Set(
      vectors
        .filter((v) => v.expect !== 'success')
        .flatMap((v) => v.rules)
        .filter((id) => !id.startsWith('R-ORDER-')),
    );
    const missing = [...refusing].filter((id) => !(READER_CHECKS as readonly string[]).includes(id) && !(id in NOT_A_CHECK));
    expect(missing).toEqual([]);
  });

  for (const check of READER_CHECKS) {
    it(`without ${check}, the vectors catch the reader`, async () => {
      const caught: string[] = [];
      for (const vector of vectors) {
        if (!same(await readWithout(check, vector), expectedOutcome(vector))) caught.push(vector.name);
      }
      expect(caught.length, `no vector notices a reader without ${check}`).toBeGreaterThan(0);
    });
  }

  for (const vector of vectors.filter((v) => v.isolates)) {
    it(`${vector.name} breaks ${vector.isolates} only: without that check it opens`, async () => {
      const outcome = await readWithout(vector.isolates as ReaderCheck, vector);
      expect(outcome).toHaveProperty('opened');
    });
  }

  it('the seam is scoped: a read outside it makes every check', async () => {
    const vector = vectors.find((v) => v.name === 'header-mac')!;
    const [inside, outside] = await Promise.all([readWithout('R-MAC-1', vector), readVector(vector)]);
    expect(inside).toHaveProperty('opened');
    expect(outside).toEqual({ refused: 'ERR_AUTHENTICATION_FAILED' });
  });
});

describe('the seam is not part of the package', () => {
  it('neither the entries (src/index.ts, the provider testkit) nor the exports map name it', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> };
    for (const entry of ['../src/index.ts', '../src/testkit/index.ts']) {
      expect(readFileSync(new URL(entry, import.meta.url), 'utf8')).not.toMatch(/reader-checks|ReaderCheck/);
    }
    expect(Object.keys(manifest.exports).sort()).toEqual(['.', './package.json', './testkit']);
  });
});
