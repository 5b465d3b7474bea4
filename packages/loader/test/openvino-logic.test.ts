/**
 * loadOpenVino's own logic with an injected core (OpenVINO's native runtime is absent here): the
 * runtime call per format, CACHE_DIR refusal, and the encrypted compiled-model cache, whose entries
 * are real sealed containers (corrupted, swapped and stale ones included).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { sealToBuffer } from '@ovseal/container';
import { tinyIr } from '@ovseal/test-fixtures';
import {
  CompiledModelCache,
  OpenVinoUnavailableError,
  UnsafeConfigError,
  UnsupportedModelError,
  loadOpenVino,
  type CompiledModelCacheEvent,
} from '../src/index.js';
import { fakeBlob, fakeOpenVino, type FakeCompiledModel, type FakeModel } from './helpers/fake-openvino.js';
import { countingIdentity, freshKey } from './helpers/keys.js';

const { recipient, identity } = freshKey();
const device = 'CPU';
const ir = tinyIr({ shape: [1, 64], addend: Array.from({ length: 64 }, (_, i) => i / 7) }) as {
  xml: string;
  weights: Uint8Array;
};

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
  dir = await mkdtemp(join(tmpdir(), 'ovseal-ov-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runtime calls per format', () => {
  test('IR: readModel(xml string, Tensor wrapping the weights), zeroed by dispose', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    const loaded = await loadOpenVino(await sealIr(), { identities: [identity], core: asCore, openvino: addon, device });
    const model = loaded.model as unknown as FakeModel;
    expect(model.kind).toBe('ir');
    expect(model.xml).toBe(ir.xml);
    expect(Buffer.from(model.weights!.data).equals(Buffer.from(ir.weights))).toBe(true);
    expect(core.compiles).toBe(1);
    expect(loaded.fromCache).toBe(false);
    loaded.dispose();
    // The tensor wraps the loader's memory: dispose zeroed what OpenVINO read.
    expect(model.weights!.data.every((byte) => byte === 0)).toBe(true);
  });

  test('IR decrypted into shared memory is copied once into wrappable memory', async () => {
    const { addon, asCore } = fakeOpenVino();
    const loaded = await loadOpenVino(await sealIr(), {
      identities: [identity],
      core: asCore,
      openvino: addon,
      workers: 2,
    });
    const model = loaded.model as unknown as FakeModel;
    expect(model.weights!.data.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Buffer.from(model.weights!.data).equals(Buffer.from(ir.weights))).toBe(true);
    loaded.dispose();
    expect(model.weights!.data.every((byte) => byte === 0)).toBe(true);
  });

  test('IR without weights gets an empty tensor', async () => {
    const { addon, asCore } = fakeOpenVino();
    const sealed = await sealToBuffer({
      entries: [{ name: 'model.xml', role: 'xml', data: new TextEncoder().encode(ir.xml) }],
      metadata: { name: 'no-weights', version: '1', format: 'openvino-ir' },
      recipients: [recipient],
    });
    const loaded = await loadOpenVino(sealed, { identities: [identity], core: asCore, openvino: addon });
    expect((loaded.model as unknown as FakeModel).weights!.data.length).toBe(0);
    loaded.dispose();
  });

  test('ONNX: readModel(bytes), a copy the runtime owns', async () => {
    const { addon, asCore } = fakeOpenVino();
    const onnx = randomBytes(5000);
    const sealed = await sealToBuffer({
      entries: [{ name: 'model.onnx', role: 'onnx', data: onnx }],
      metadata: { name: 'onnx', version: '1' },
      recipients: [recipient],
    });
    const loaded = await loadOpenVino(sealed, { identities: [identity], core: asCore, openvino: addon });
    expect(Buffer.from((loaded.model as unknown as FakeModel).onnx!).equals(onnx)).toBe(true);
    loaded.dispose();
  });

  test('compiled blob: importModel, no readable model', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    const sealed = await sealToBuffer({
      entries: [{ name: 'model.blob', role: 'blob', data: fakeBlob(device, core.build, 'abc') }],
      metadata: { name: 'blob', version: '1' },
      recipients: [recipient],
    });
    const loaded = await loadOpenVino(sealed, { identities: [identity], core: asCore, openvino: addon, device });
    expect(loaded.model).toBeUndefined();
    expect((loaded.compiledModel as unknown as FakeCompiledModel).source).toBe('abc');
    expect(core.compiles).toBe(0);
    loaded.dispose();
  });

  test('a container with no model is refused', async () => {
    const { addon, asCore } = fakeOpenVino();
    const sealed = await sealToBuffer({
      entries: [{ name: 'labels.txt', role: 'aux', data: new Uint8Array([1]) }],
      metadata: { name: 'aux', version: '1' },
      recipients: [recipient],
    });
    await expect(loadOpenVino(sealed, { identities: [identity], core: asCore, openvino: addon })).rejects.toBeInstanceOf(
      UnsupportedModelError,
    );
  });
});

describe('CACHE_DIR is refused', () => {
  test.each(['CACHE_DIR', 'cache_dir'])('in the compile config (%s), before any key is used', async (key) => {
    const { addon, asCore } = fakeOpenVino();
    const counting = countingIdentity(identity);
    const error = await loadOpenVino(await sealIr(), {
      identities: [counting],
      core: asCore,
      openvino: addon,
      config: { [key]: dir },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(UnsafeConfigError);
    expect(error.code).toBe('ERR_UNSAFE_CONFIG');
    expect(error.hint).toMatch(/CompiledModelCache/);
    expect(counting.calls).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  test('set on the core', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    core.properties.CACHE_DIR = dir;
    await expect(loadOpenVino(await sealIr(), { identities: [identity], core: asCore, openvino: addon })).rejects.toMatchObject({
      code: 'ERR_UNSAFE_CONFIG',
      setting: 'core property CACHE_DIR',
    });
  });
});

describe('encrypted compiled-model cache', () => {
  function setup(cacheIdentity = { recipient, identity }) {
    const events: CompiledModelCacheEvent[] = [];
    const cache = new CompiledModelCache({
      dir: join(dir, 'cache'),
      recipients: [cacheIdentity.recipient],
      identities: [cacheIdentity.identity],
      onEvent: (event) => events.push(event),
    });
    return { cache, events, types: () => events.map((event) => (event.type === 'discarded' ? `discarded:${event.reason}` : event.type)) };
  }

  test('a miss compiles and stores a sealed entry; the next start imports it without compiling', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    const { cache, types } = setup();
    const sealed = await sealIr();
    const first = await loadOpenVino(sealed, { identities: [identity], core: asCore, openvino: addon, device, cache });
    expect(types()).toEqual(['miss', 'stored']);
    expect(first.fromCache).toBe(false);
    const compiledSource = (first.compiledModel as unknown as FakeCompiledModel).source;
    first.dispose();

    const files = await readdir(cache.dir);
    expect(files).toHaveLength(1);
    expect((await stat(cache.dir)).mode & 0o777).toBe(0o700);
    const entry = await readFile(join(cache.dir, files[0]!));
    // Sealed: neither the compiled blob nor the weights appear in clear.
    expect(entry.includes(Buffer.from('FAKE-OV-BLOB'))).toBe(false);
    expect(entry.includes(Buffer.from(compiledSource))).toBe(false);
    expect(entry.includes(Buffer.from(ir.weights.subarray(4, 36)))).toBe(false);

    const second = await loadOpenVino(sealed, { identities: [identity], core: asCore, openvino: addon, device, cache });
    expect(types()).toEqual(['miss', 'stored', 'hit']);
    expect(second.fromCache).toBe(true);
    expect(second.model).toBeUndefined();
    expect((second.compiledModel as unknown as FakeCompiledModel).source).toBe(compiledSource);
    expect(core.compiles).toBe(1);
    expect(core.imports).toBe(1);
    second.dispose();
  });

  test('the key covers the model, the device, the runtime version and the config', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    const { cache, types } = setup();
    const load = async (sealed: Uint8Array, options: { device?: string; config?: Record<string, string> } = {}) =>
      (await loadOpenVino(sealed, { identities: [identity], core: asCore, openvino: addon, cache, device, ...options })).dispose();
    const v1 = await sealIr('1');
    await load(v1);
    await load(v1, { device: 'GPU' });
    await load(v1, { config: { PERFORMANCE_HINT: 'LATENCY' } });
    await load(await sealIr('2'));
    core.build = '2025.0.0-fake';
    await load(v1);
    expect(types()).toEqual(['miss', 'stored', 'miss', 'stored', 'miss', 'stored', 'miss', 'stored', 'miss', 'stored']);
    expect(core.compiles).toBe(5);
    await load(v1);
    expect(types().at(-1)).toBe('hit');
  });

  test('a corrupt entry is discarded and the model compiled again', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    const { cache, types } = setup();
    const sealed = await sealIr();
    const options = { identities: [identity], core: asCore, openvino: addon, device, cache };
    (await loadOpenVino(sealed, options)).dispose();
    const [file] = await readdir(cache.dir);
    const path = join(cache.dir, file!);
    const bytes = await readFile(path);
    bytes[bytes.length - 10]! ^= 0x40;
    await writeFile(path, bytes);

    const loaded = await loadOpenVino(sealed, options);
    expect(loaded.fromCache).toBe(false);
    expect(types()).toEqual(['miss', 'stored', 'discarded:unreadable', 'stored']);
    expect(core.compiles).toBe(2);
    loaded.dispose();
    (await loadOpenVino(sealed, options)).dispose();
    expect(types().at(-1)).toBe('hit');
  });

  test('a truncated or empty entry is discarded', async () => {
    const { addon, asCore } = fakeOpenVino();
    const { cache, types } = setup();
    const sealed = await sealIr();
    const options = { identities: [identity], core: asCore, openvino: addon, device, cache };
    (await loadOpenVino(sealed, options)).dispose();
    const [file] = await readdir(cache.dir);
    await writeFile(join(cache.dir, file!), new Uint8Array(0));
    (await loadOpenVino(sealed, options)).dispose();
    expect(types()).toEqual(['miss', 'stored', 'discarded:unreadable', 'stored']);
  });

  test('an entry sealed to another key (another device) is discarded', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    const sealed = await sealIr();
    const other = setup(freshKey());
    (await loadOpenVino(sealed, { identities: [identity], core: asCore, openvino: addon, device, cache: other.cache })).dispose();
    const mine = setup();
    (await loadOpenVino(sealed, { identities: [identity], core: asCore, openvino: addon, device, cache: mine.cache })).dispose();
    expect(mine.types()).toEqual(['discarded:unreadable', 'stored']);
    expect(core.compiles).toBe(2);
  });

  test('an entry moved under another key’s file name is discarded', async () => {
    const { addon, asCore } = fakeOpenVino();
    const { cache, types } = setup();
    const sealed = await sealIr();
    const base = { identities: [identity], core: asCore, openvino: addon, device, cache };
    (await loadOpenVino(sealed, base)).dispose();
    const [firstEntry] = await readdir(cache.dir);
    (await loadOpenVino(sealed, { ...base, config: { NUM_STREAMS: '1' } })).dispose();
    const streamsEntry = (await readdir(cache.dir)).find((name) => name !== firstEntry)!;
    // Put the first entry where the second key looks: a valid container, for the wrong key.
    await copyFile(join(cache.dir, firstEntry!), join(cache.dir, streamsEntry));
    const loaded = await loadOpenVino(sealed, { ...base, config: { NUM_STREAMS: '1' } });
    expect(types().slice(-2)).toEqual(['discarded:mismatch', 'stored']);
    expect(loaded.fromCache).toBe(false);
    loaded.dispose();
  });

  test('a blob the runtime refuses is discarded and the model compiled', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    const { cache, types, events } = setup();
    const sealed = await sealIr();
    const options = { identities: [identity], core: asCore, openvino: addon, device, cache };
    (await loadOpenVino(sealed, options)).dispose();
    core.refuseImports = true;
    const loaded = await loadOpenVino(sealed, options);
    expect(types()).toEqual(['miss', 'stored', 'discarded:import-failed', 'stored']);
    expect(events[2]).toMatchObject({ error: { message: 'Cannot import: incompatible blob' } });
    expect(loaded.fromCache).toBe(false);
    loaded.dispose();
  });

  test('a device that cannot export still loads; the failure is reported', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    const { cache, types } = setup();
    core.exportFails = true;
    const loaded = await loadOpenVino(await sealIr(), { identities: [identity], core: asCore, openvino: addon, device, cache });
    expect(types()).toEqual(['miss', 'store-failed']);
    loaded.dispose();
  });

  test('a runtime that cannot report its version loads without the cache', async () => {
    const { addon, core, asCore } = fakeOpenVino();
    const { cache, types } = setup();
    core.getVersions = () => {
      throw new Error('no version information');
    };
    const loaded = await loadOpenVino(await sealIr(), { identities: [identity], core: asCore, openvino: addon, device, cache });
    expect(types()).toEqual([]);
    expect(loaded.fromCache).toBe(false);
    loaded.dispose();
  });

  test('cache file names reveal only a hash', async () => {
    const { addon, asCore } = fakeOpenVino();
    const { cache } = setup();
    (await loadOpenVino(await sealIr(), { identities: [identity], core: asCore, openvino: addon, device, cache })).dispose();
    const [file] = await readdir(cache.dir);
    expect(file).toMatch(/^[0-9a-f]{64}\.ovseal$/);
  });
});

describe('without an injected core', () => {
  test('a missing OpenVINO runtime is a typed error that says how to install it', async (context) => {
    const runtime = await import('openvino-node').then(
      () => true,
      () => false,
    );
    if (runtime) context.skip(); // openvino.test.ts covers the real runtime
    const counting = countingIdentity(identity);
    const error = await loadOpenVino(await sealIr(), { identities: [counting] }).catch((e) => e);
    expect(error).toBeInstanceOf(OpenVinoUnavailableError);
    expect(error.code).toBe('ERR_OPENVINO_UNAVAILABLE');
    expect(error.message).toMatch(/without its native runtime|not installed/);
    expect(error.hint).toMatch(/npm install openvino-node/);
    expect(counting.calls).toBe(0);
  });
});
