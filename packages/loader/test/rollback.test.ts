import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { sealToBuffer } from '@ovseal/container';
import { JsonFileRollbackStore, openModel, RollbackError, type RollbackStore } from '../src/index.js';
import { countingIdentity, freshKey } from './helpers/keys.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovseal-rollback-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('JsonFileRollbackStore', () => {
  test('a missing file is an empty store; records are written atomically with mode 0600', async () => {
    const store = new JsonFileRollbackStore(join(dir, 'versions.json'));
    expect(await store.highestVersion('det')).toBeUndefined();
    await store.recordVersion('det', '1.2.0');
    expect(await store.highestVersion('det')).toBe('1.2.0');
    expect((await stat(store.path)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(store.path, 'utf8'))).toEqual({
      format: 'ovseal-rollback-store/1',
      models: { det: '1.2.0' },
    });
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  test('never lowers a recorded version, even with concurrent writes', async () => {
    const store = new JsonFileRollbackStore(join(dir, 'versions.json'));
    await Promise.all(['3', '1', '10', '2', '9'].map((version) => store.recordVersion('det', version)));
    expect(await store.highestVersion('det')).toBe('10');
    await store.recordVersion('det', '4');
    expect(await new JsonFileRollbackStore(store.path).highestVersion('det')).toBe('10');
  });

  test('a corrupt file fails closed', async () => {
    const path = join(dir, 'versions.json');
    await writeFile(path, '{"format":"ovseal-rollback-store/1","models":');
    await expect(new JsonFileRollbackStore(path).highestVersion('det')).rejects.toMatchObject({ code: 'ERR_IO' });
    await writeFile(path, '{"format":"something-else","models":{}}');
    await expect(new JsonFileRollbackStore(path).highestVersion('det')).rejects.toMatchObject({ code: 'ERR_IO' });
  });

  test('model names such as __proto__ are plain keys', async () => {
    const store = new JsonFileRollbackStore(join(dir, 'versions.json'));
    expect(await store.highestVersion('__proto__')).toBeUndefined();
    await store.recordVersion('__proto__', '2');
    expect(await new JsonFileRollbackStore(store.path).highestVersion('__proto__')).toBe('2');
  });
});

describe('rollback protection in openModel', () => {
  const { recipient, identity } = freshKey();
  const sealVersion = (version: string) =>
    sealToBuffer({
      entries: [{ name: 'labels.txt', role: 'aux', data: new TextEncoder().encode(`labels v${version}`) }],
      metadata: { name: 'det', version },
      recipients: [recipient],
    });

  test('refuses an older version than one already loaded, accepts the same and newer ones', async () => {
    const rollback = new JsonFileRollbackStore(join(dir, 'versions.json'));
    const [v1, v2, v3] = await Promise.all(['1.0.0', '2.0.0', '3.0.0'].map(sealVersion));
    (await openModel(v2!, { identities: [identity], rollback })).dispose();
    expect(await rollback.highestVersion('det')).toBe('2.0.0');

    const counting = countingIdentity(identity);
    const error = await openModel(v1!, { identities: [counting], rollback }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RollbackError);
    expect(error).toMatchObject({ code: 'ERR_ROLLBACK' });
    // Bytes can be read twice: the old header is refused before any key is unwrapped.
    expect(counting.calls).toBe(0);

    (await openModel(v2!, { identities: [identity], rollback })).dispose();
    (await openModel(v3!, { identities: [identity], rollback })).dispose();
    expect(await rollback.highestVersion('det')).toBe('3.0.0');
  });

  test('a stream is checked on its authenticated header, and nothing is released', async () => {
    const rollback = memoryStore({ det: '5' });
    const old = await sealVersion('4');
    async function* chunks() {
      for (let i = 0; i < old.length; i += 1000) yield old.subarray(i, i + 1000);
    }
    await expect(openModel(chunks(), { identities: [identity], rollback })).rejects.toBeInstanceOf(RollbackError);
  });

  test('a custom version order is used', async () => {
    const rollback = memoryStore({ det: 'b' });
    const reverse = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);
    const model = await openModel(await sealVersion('a'), { identities: [identity], rollback, compareVersions: reverse });
    model.dispose();
    expect(await rollback.highestVersion('det')).toBe('a');
  });
});

function memoryStore(initial: Record<string, string>): RollbackStore {
  const versions = new Map(Object.entries(initial));
  return {
    async highestVersion(model) {
      return versions.get(model);
    },
    async recordVersion(model, version) {
      versions.set(model, version);
    },
  };
}
