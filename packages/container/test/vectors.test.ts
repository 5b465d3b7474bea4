// Runs every test vector of test-fixtures/vectors (docs/FORMAT.md §10) against the reference reader
// with identities written from the spec (spec-vectors.ts), from bytes, a file and a stream; and
// checks that the spec's rule table is the one the vectors make, and names a vector for every
// MUST rule.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expectedOutcome, loadKeyTextCases, loadVectors, readVector, SPEC, type Source } from './spec-vectors.js';

const vectors = loadVectors();

describe('format test vectors', () => {
  it('are what `pnpm vectors` writes: reproducible from their seeds, and in step with the generator and the spec', () => {
    const generator = new URL('../../../scripts/gen-vectors.mjs', import.meta.url).pathname;
    const run = spawnSync(process.execPath, [generator, '--check'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('has vectors for every outcome', () => {
    const outcomes = new Set(vectors.map((v) => v.expect));
    expect([...outcomes].sort()).toEqual(['header failure', 'no match', 'payload failure', 'signature failure', 'success']);
  });

  for (const vector of vectors) {
    it(`${vector.name}: ${vector.expect}${vector.error ? ` (${vector.error})` : ''}`, async () => {
      for (const source of ['bytes', 'file', 'stream'] as Source[]) {
        expect({ source, outcome: await readVector(vector, source) }).toEqual({ source, outcome: expectedOutcome(vector, source) });
      }
    });
  }
});

/** The rules docs/FORMAT.md defines (`**R-…** (LEVEL)`), in order, and its rule table. */
function specRules() {
  const spec = readFileSync(SPEC, 'utf8');
  const defined = [...spec.matchAll(/\*\*(R-[A-Z0-9]+-\d+)\*\* \((MUST|SHOULD|MAY)\)/g)].map((m) => ({ id: m[1]!, level: m[2]! }));
  const table = spec.slice(spec.indexOf('<!-- rule table'), spec.indexOf('<!-- end of rule table -->'));
  const rows = new Map(
    [...table.matchAll(/^\| (R-[A-Z0-9]+-\d+) \| (\w+) \| (.*) \|$/gm)].map((m) => [
      m[1]!,
      { level: m[2]!, vectors: m[3] === '—' ? [] : [...m[3]!.matchAll(/`([^`]+)`/g)].map((v) => v[1]!) },
    ]),
  );
  return { defined, rows };
}

describe('the rule table of docs/FORMAT.md', () => {
  const { defined, rows } = specRules();
  const keyCases = loadKeyTextCases();
  const namedIn = (id: string) => [
    ...vectors.filter((v) => v.rules.includes(id)).map((v) => v.name),
    ...keyCases.filter((c) => c.rules.includes(id)).map((c) => `key-text.json#${c.name}`),
  ];

  it('defines rules, each once', () => {
    expect(defined.length).toBeGreaterThan(50);
    expect(new Set(defined.map((r) => r.id)).size).toBe(defined.length);
  });

  it('has one row per rule, listing exactly the vectors whose JSON names that rule (pnpm vectors writes it)', () => {
    expect([...rows.keys()]).toEqual(defined.map((r) => r.id));
    for (const { id, level } of defined)
      expect({ id, level: rows.get(id)?.level, vectors: [...(rows.get(id)?.vectors ?? [])].sort() }).toEqual({
        id,
        level,
        vectors: namedIn(id).sort(),
      });
  });

  it('names at least one vector for every MUST rule', () => {
    const without = defined.filter((r) => r.level === 'MUST' && namedIn(r.id).length === 0).map((r) => r.id);
    expect(without).toEqual([]);
  });

  it('every failure vector but the order vectors names the rule it breaks; isolates one of its rules; names only rules the spec defines', () => {
    const ids = new Set(defined.map((r) => r.id));
    for (const vector of vectors) {
      expect(
        vector.rules.filter((id) => !ids.has(id)),
        vector.name,
      ).toEqual([]);
      if (vector.isolates) expect(vector.rules, vector.name).toContain(vector.isolates);
      if (vector.expect !== 'success') expect(vector.rules.length, vector.name).toBeGreaterThan(0);
    }
  });
});
