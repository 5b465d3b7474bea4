/**
 * The format's vectors (test-fixtures/vectors, docs/FORMAT.md §10) read by this provider: every
 * vector whose identities are all `file` identities is opened with FileIdentity and must give the
 * vector's outcome, and every `file` case of key-text.json is read from a key file with readKeyFile.
 * (The container's own vector test uses identities written from the spec; this one holds the
 * provider to the same answers.)
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { open, OvsealError } from '@ovseal/container';
import { FileIdentity, readKeyFile } from '@ovseal/key-file';

const VECTORS = new URL('../../../test-fixtures/vectors/', import.meta.url).pathname;

interface Vector {
  readonly expect: string;
  readonly error?: string;
  readonly identities: readonly { type: string; kek?: string }[];
  readonly trust: readonly string[] | null;
  readonly now: number;
  readonly entries: readonly { name: string; role: string; sha256: string }[];
}

async function outcomeOf(bytes: Buffer, vector: Vector) {
  try {
    const model = await open(bytes, {
      identities: vector.identities.map((identity) => new FileIdentity(Buffer.from(identity.kek!, 'hex'))),
      ...(vector.trust ? { trust: { publicKeys: vector.trust } } : {}),
      now: new Date(vector.now * 1000),
    });
    const opened = model.entries.map((e) => ({ name: e.name, role: e.role, sha256: createHash('sha256').update(e.data).digest('hex') }));
    model.dispose();
    return { opened };
  } catch (error) {
    return { refused: error instanceof OvsealError ? error.code : String(error) };
  }
}

const names = (await readdir(VECTORS))
  .filter((f) => f.endsWith('.json') && f !== 'key-text.json')
  .map((f) => f.slice(0, -5))
  .sort();

describe('format vectors opened with FileIdentity', async () => {
  const vectors = await Promise.all(
    names.map(async (name) => ({ name, vector: JSON.parse(await readFile(join(VECTORS, `${name}.json`), 'utf8')) as Vector })),
  );
  const ours = vectors.filter(({ vector }) => vector.identities.every((identity) => identity.type === 'file'));

  test('most vectors are file-identity vectors', () => {
    expect(ours.length).toBeGreaterThan(100);
  });

  test.each(ours.map(({ name, vector }) => [name, vector] as const))('%s', async (name, vector) => {
    const expected = vector.expect === 'success' ? { opened: vector.entries } : { refused: vector.error };
    expect(await outcomeOf(await readFile(join(VECTORS, `${name}.ovseal`)), vector)).toEqual(expected);
  });
});

describe('key-text.json: key files (docs/FORMAT.md R-KT-1…3)', async () => {
  const { cases } = JSON.parse(await readFile(join(VECTORS, 'key-text.json'), 'utf8')) as {
    cases: { name: string; source: string; text: string; kek?: string; error?: string }[];
  };
  const fileCases = cases.filter((c) => c.source === 'file');

  test('has accepted and refused key files', () => {
    expect(fileCases.some((c) => c.kek) && fileCases.some((c) => c.error)).toBe(true);
  });

  test.each(fileCases.map((c) => [c.name, c] as const))('%s', async (_name, keyCase) => {
    const dir = await mkdtemp(join(tmpdir(), 'ovseal-key-text-'));
    try {
      const path = join(dir, 'model.key');
      await writeFile(path, keyCase.text, { mode: 0o600 });
      const outcome = await readKeyFile(path).then(
        (key) => ({ kek: Buffer.from(key).toString('hex') }),
        (error: unknown) => ({ error: (error as OvsealError).code }),
      );
      expect(outcome).toEqual(keyCase.kek ? { kek: keyCase.kek } : { error: keyCase.error });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
