/**
 * The encrypted compiled-model cache and the CACHE_DIR refusal on the real OpenVINO runtime: real
 * exported blobs, sealed to the device key; corrupted, swapped, foreign and stale entries are
 * discarded and the model compiled again. Where a runtime failure cannot be produced on demand
 * (an export failure, a runtime without versions), a real core is wrapped and that one call fails.
 */
import { copyFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { seal, sealToBuffer } from '@ovseal/container';
import { tinyIr } from '@ovseal/test-fixtures';
import { CompiledModelCache, loadOpenVino, type CompiledModelCacheEvent, type OpenVinoCore } from '../src/index.js';
import { freshKey } from './helpers/keys.js';
import { describeOpenVino } from './helpers/openvino.js';

const { recipient, identity } = freshKey();
const device = 'CPU';
const config = { INFERENCE_PRECISION_HINT: 'f32' };
const addend = Array.from({ length: 64 }, (_, i) => i / 8);
const ir = tinyIr({ shape: [1, 64], addend });
const input = Float32Array.from({ length: 64 }, (_, i) => i);
const expected = Array.from(input, (x, i) => Math.fround(x + addend[i]!));

const sealIr = (version = '1') =>
  sealToBuffer({
    entries: [
      { name: 'model.xml', role: 'xml', data: new TextEncoder().encode(ir.xml) },
      { name: 'model.bin', role: 'weights', data: ir.weights },
    ],
    metadata: { name: 'tiny-ir', version },
    recipients: [recipient],
  });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovseal-ov-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describeOpenVino('encrypted compiled-model cache', (ov) => {
  /** A real core that counts compiles and imports; `fail` makes one call throw. */
  function countingCore(fail: { exportModelSync?: boolean; getVersions?: boolean } = {}) {
    const core = new ov.Core();
    const counts = { compiles: 0, imports: 0 };
    const wrapped = {
      readModel: core.readModel.bind(core),
      getProperty: core.getProperty.bind(core),
      getVersions: (name: string) => {
        if (fail.getVersions) throw new Error('no version information');
        return core.getVersions(name);
      },
      compileModel: async (...args: Parameters<typeof core.compileModel>) => {
        counts.compiles++;
        const compiled = await core.compileModel(...args);
        if (fail.exportModelSync)
          compiled.exportModelSync = () => {
            throw new Error('export is not supported by this device');
          };
        return compiled;
      },
      importModel: (...args: Parameters<typeof core.importModel>) => {
        counts.imports++;
        return core.importModel(...args);
      },
    };
    return { core: wrapped as unknown as OpenVinoCore, counts };
  }

  function setup(cacheKey = { recipient, identity }) {
    const events: CompiledModelCacheEvent[] = [];
    const cache = new CompiledModelCache({
      dir: join(dir, 'cache'),
      recipients: [cacheKey.recipient],
      identities: [cacheKey.identity],
      onEvent: (event) => events.push(event),
    });
    const types = () => events.map((event) => (event.type === 'discarded' ? `discarded:${event.reason}` : event.type));
    return { cache, events, types };
  }

  async function loadAndCheck(sealed: Uint8Array, options: Omit<Parameters<typeof loadOpenVino>[1], 'identities'>) {
    const loaded = await loadOpenVino(sealed, { identities: [identity], openvino: ov, device, config, ...options });
    const [output] = Object.values(await loaded.compiledModel.createInferRequest().inferAsync([input]));
    expect(Array.from(output!.data as Float32Array)).toEqual(expected);
    return loaded;
  }

  test('a miss compiles and stores a sealed entry; the next start imports it without compiling', async () => {
    const { core, counts } = countingCore();
    const { cache, types } = setup();
    const sealed = await sealIr();
    const first = await loadAndCheck(sealed, { core, cache });
    expect(types()).toEqual(['miss', 'stored']);
    expect(first.fromCache).toBe(false);
    const blob = first.compiledModel.exportModelSync();
    first.dispose();

    const files = await readdir(cache.dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{64}\.ovseal$/); // the name reveals only a hash
    expect((await stat(cache.dir)).mode & 0o777).toBe(0o700);
    const entry = await readFile(join(cache.dir, files[0]!));
    // Sealed: neither the compiled blob nor the weights appear in clear.
    expect(entry.includes(Buffer.from(blob.subarray(0, 64)))).toBe(false);
    expect(entry.includes(Buffer.from(ir.weights.subarray(8, 40)))).toBe(false);

    const second = await loadAndCheck(sealed, { core, cache });
    expect(types()).toEqual(['miss', 'stored', 'hit']);
    expect(second.fromCache).toBe(true);
    expect(second.model).toBeUndefined();
    expect(counts).toEqual({ compiles: 1, imports: 1 });
    second.dispose();
  });

  test('the key covers the model, the device, the runtime version and the config', async () => {
    const { core, counts } = countingCore();
    const { cache, types } = setup();
    const v1 = await sealIr('1');
    (await loadAndCheck(v1, { core, cache })).dispose();
    (await loadAndCheck(v1, { core, cache, config: { ...config, PERFORMANCE_HINT: 'LATENCY' } })).dispose();
    (await loadAndCheck(await sealIr('2'), { core, cache })).dispose();
    // The same model on a runtime reporting another build is another entry.
    /* eslint-disable @typescript-eslint/unbound-method -- the binding's methods do not use `this` */
    const newerRuntime = {
      ...core,
      readModel: core.readModel,
      compileModel: core.compileModel,
      importModel: core.importModel,
      getVersions: () => ({ CPU: { buildNumber: '2099.0.0-next', description: 'CPU' } }),
    };
    /* eslint-enable @typescript-eslint/unbound-method */
    (await loadAndCheck(v1, { core: newerRuntime, cache })).dispose();
    expect(types()).toEqual(['miss', 'stored', 'miss', 'stored', 'miss', 'stored', 'miss', 'stored']);
    expect(counts.compiles).toBe(4);
    (await loadAndCheck(v1, { core, cache })).dispose();
    expect(types().at(-1)).toBe('hit');
  });

  test('a corrupt entry is discarded and the model compiled again', async () => {
    const { core, counts } = countingCore();
    const { cache, types } = setup();
    const sealed = await sealIr();
    (await loadAndCheck(sealed, { core, cache })).dispose();
    const [file] = await readdir(cache.dir);
    const bytes = await readFile(join(cache.dir, file!));
    bytes[bytes.length - 10]! ^= 0x40;
    await writeFile(join(cache.dir, file!), bytes);
    const loaded = await loadAndCheck(sealed, { core, cache });
    expect(loaded.fromCache).toBe(false);
    expect(types()).toEqual(['miss', 'stored', 'discarded:unreadable', 'stored']);
    expect(counts.compiles).toBe(2);
    loaded.dispose();
    (await loadAndCheck(sealed, { core, cache })).dispose();
    expect(types().at(-1)).toBe('hit');
  });

  test('a truncated or empty entry is discarded', async () => {
    const { core } = countingCore();
    const { cache, types } = setup();
    const sealed = await sealIr();
    (await loadAndCheck(sealed, { core, cache })).dispose();
    const [file] = await readdir(cache.dir);
    await writeFile(join(cache.dir, file!), new Uint8Array(0));
    (await loadAndCheck(sealed, { core, cache })).dispose();
    expect(types()).toEqual(['miss', 'stored', 'discarded:unreadable', 'stored']);
  });

  test('an entry sealed to another key (another device) is discarded', async () => {
    const { core, counts } = countingCore();
    const sealed = await sealIr();
    const other = setup(freshKey());
    (await loadAndCheck(sealed, { core, cache: other.cache })).dispose();
    const mine = setup();
    (await loadAndCheck(sealed, { core, cache: mine.cache })).dispose();
    expect(mine.types()).toEqual(['discarded:unreadable', 'stored']);
    expect(counts.compiles).toBe(2);
  });

  test('an entry moved under another key’s file name is discarded', async () => {
    const { core } = countingCore();
    const { cache, types } = setup();
    const sealed = await sealIr();
    (await loadAndCheck(sealed, { core, cache })).dispose();
    const [firstEntry] = await readdir(cache.dir);
    const streams = { ...config, NUM_STREAMS: '1' };
    (await loadAndCheck(sealed, { core, cache, config: streams })).dispose();
    const streamsEntry = (await readdir(cache.dir)).find((name) => name !== firstEntry)!;
    await copyFile(join(cache.dir, firstEntry!), join(cache.dir, streamsEntry));
    const loaded = await loadAndCheck(sealed, { core, cache, config: streams });
    expect(types().slice(-2)).toEqual(['discarded:mismatch', 'stored']);
    expect(loaded.fromCache).toBe(false);
    loaded.dispose();
  });

  test('a blob the runtime refuses (a valid entry holding garbage) is discarded and the model compiled', async () => {
    const { core } = countingCore();
    const { cache, types, events } = setup();
    const sealed = await sealIr();
    (await loadAndCheck(sealed, { core, cache })).dispose();
    const [file] = await readdir(cache.dir);
    // Re-seal the entry with its key kept and the blob replaced by bytes OpenVINO cannot import.
    const { open } = await import('@ovseal/container');
    const entry = await open(join(cache.dir, file!), { identities: [identity] });
    const keyText = Uint8Array.from(entry.get('cache-key.json'));
    entry.dispose();
    await rm(join(cache.dir, file!));
    await seal({
      output: join(cache.dir, file!),
      entries: [
        { name: 'cache-key.json', role: 'aux', data: keyText },
        { name: 'compiled.blob', role: 'blob', data: new Uint8Array(4096).fill(0x5a) },
      ],
      metadata: { name: 'ovseal-compiled-model-cache', version: '1', format: 'openvino-blob' },
      recipients: [recipient],
    });
    const loaded = await loadAndCheck(sealed, { core, cache });
    expect(types()).toEqual(['miss', 'stored', 'discarded:import-failed', 'stored']);
    expect(events[2]).toMatchObject({ error: { code: 'ERR_OPENVINO' } });
    expect(loaded.fromCache).toBe(false);
    loaded.dispose();
  });

  test('a device that cannot export still loads; the failure is reported', async () => {
    const { core } = countingCore({ exportModelSync: true });
    const { cache, types } = setup();
    (await loadAndCheck(await sealIr(), { core, cache })).dispose();
    expect(types()).toEqual(['miss', 'store-failed']);
  });

  test('a runtime that cannot report its version loads without the cache', async () => {
    const { core } = countingCore({ getVersions: true });
    const { cache, types } = setup();
    const loaded = await loadAndCheck(await sealIr(), { core, cache });
    expect(types()).toEqual([]);
    expect(loaded.fromCache).toBe(false);
    loaded.dispose();
  });

  test('CACHE_DIR is refused, in the config and on the core, before any key is used', async () => {
    const sealed = await sealIr();
    await expect(
      loadOpenVino(sealed, { identities: [identity], openvino: ov, config: { CACHE_DIR: join(dir, 'ov') } }),
    ).rejects.toMatchObject({
      code: 'ERR_UNSAFE_CONFIG',
    });
    const cachingCore = new ov.Core();
    cachingCore.setProperty({ CACHE_DIR: join(dir, 'ov-cache') });
    await expect(loadOpenVino(sealed, { identities: [identity], openvino: ov, core: cachingCore })).rejects.toMatchObject({
      code: 'ERR_UNSAFE_CONFIG',
    });
    // OpenVINO made the directory when the property was set; nothing was written into it.
    expect(await readdir(dir)).toEqual(['ov-cache']);
    expect(await readdir(join(dir, 'ov-cache'))).toEqual([]);
  });
});
