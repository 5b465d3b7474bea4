/**
 * Failures are typed errors and never crash the process: a library that is not OpenVINO, a runtime
 * without its CPU plugin, IR weights that do not match the XML, an unknown device, garbage model
 * bytes, a blob that is not a compiled model.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tinyIr } from '@ovseal/test-fixtures';
import { findOpenVinoLibrary, loadOpenVinoC } from '../src/index.js';
import { describeOpenVino, libraryDir } from './helpers.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ovseal-openvino-c-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('finding the library', () => {
  const nowhere = { env: {}, python: false as const, systemFolders: [] };

  test('nothing found: ERR_OPENVINO_UNAVAILABLE with what was tried and how to install', async () => {
    const error = await findOpenVinoLibrary({ ...nowhere, systemFolders: [scratch] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_OPENVINO_UNAVAILABLE', tried: [`${scratch}: not found`] });
    expect((error as { hint: string }).hint).toMatch(/pip install openvino==/);
  });

  test('an explicit path that holds no library is an error, not a reason to look elsewhere', async () => {
    await expect(findOpenVinoLibrary({ ...nowhere, libraryPath: join(scratch, 'missing') })).rejects.toMatchObject({
      code: 'ERR_OPENVINO_UNAVAILABLE',
    });
    await expect(findOpenVinoLibrary({ ...nowhere, env: { OVSEAL_OPENVINO_LIB: scratch } })).rejects.toThrow(/OVSEAL_OPENVINO_LIB/);
  });

  test('a folder gives its highest-versioned libopenvino_c; the option wins over the environment', async () => {
    const dir = join(scratch, 'versions');
    await rm(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    for (const name of ['libopenvino_c.so.2024', 'libopenvino_c.so.2641', 'libopenvino_c.so.999', 'libopenvino.so.2641']) {
      await writeFile(join(dir, name), '');
    }
    await expect(findOpenVinoLibrary({ ...nowhere, libraryPath: dir, env: { OVSEAL_OPENVINO_LIB: scratch } })).resolves.toEqual({
      path: join(dir, 'libopenvino_c.so.2641'),
      source: 'option',
    });
    await writeFile(join(dir, 'libopenvino_c.so'), '');
    await expect(findOpenVinoLibrary({ ...nowhere, env: { OVSEAL_OPENVINO_LIB: dir } })).resolves.toEqual({
      path: join(dir, 'libopenvino_c.so'),
      source: 'env',
    });
  });

  test('a file that is not a shared library, and a library that is not OpenVINO: typed errors', async () => {
    const notElf = join(scratch, 'libopenvino_c.so.1');
    await writeFile(notElf, 'not a library');
    await expect(loadOpenVinoC({ ...nowhere, libraryPath: notElf })).rejects.toMatchObject({
      code: 'ERR_OPENVINO_UNAVAILABLE',
      message: expect.stringMatching(/does not load/),
    });
    const libz = await findSystemLibrary(/^libz\.so\.1$/);
    await expect(loadOpenVinoC({ ...nowhere, libraryPath: libz })).rejects.toMatchObject({
      code: 'ERR_OPENVINO_UNAVAILABLE',
      message: expect.stringMatching(/not a supported OpenVINO C library/),
    });
  });
});

describeOpenVino('bad input to the real runtime', (ov) => {
  const core = new ov.Core();
  const { xml, weights } = tinyIr({ shape: [1, 10], addend: 1 });

  test('IR weights shorter than the XML says: typed error, the process lives on', async () => {
    const short = new Uint8Array(new ArrayBuffer(weights.byteLength - 4));
    const error = await core.readModel(xml, new ov.Tensor('u8', [short.byteLength], short)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_OPENVINO', operation: 'ov_core_read_model_from_memory_buffer' });
  });

  test('garbage model bytes, an unknown device, a blob that is no compiled model', async () => {
    await expect(core.readModel(new TextEncoder().encode('<net>garbage'))).rejects.toMatchObject({ code: 'ERR_OPENVINO' });
    const owned = new Uint8Array(new ArrayBuffer(weights.byteLength));
    owned.set(weights);
    const model = await core.readModel(xml, new ov.Tensor('u8', [owned.byteLength], owned));
    const unknown = await core.compileModel(model, 'NO_SUCH_DEVICE').catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'ERR_OPENVINO', operation: 'ov_core_compile_model' });
    expect((unknown as Error).message).toMatch(/NO_SUCH_DEVICE/);
    await expect(core.importModel(new Uint8Array(4096).fill(0x41), 'CPU')).rejects.toMatchObject({ code: 'ERR_OPENVINO' });
  });

  test('tensor arguments that do not fit: ERR_INVALID_ARGUMENT', () => {
    expect(() => new ov.Tensor('f32', [1, 10], new Float32Array(9))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => new ov.Tensor('f32', [2], new Float64Array(1))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => new ov.Tensor('q7' as 'f32', [1])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => new ov.Tensor('f32', [-1])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  test('a runtime without its CPU plugin: compiling for CPU is a typed error (in a child process)', async () => {
    // Plugins are found next to the real location of libopenvino, so the libraries are copied
    // (not linked) into a folder without libopenvino_intel_cpu_plugin. A process can hold only one
    // copy of libopenvino, hence the child.
    const copy = join(scratch, 'no-cpu-plugin');
    await import('node:fs/promises').then((fs) => fs.mkdir(copy, { recursive: true }));
    const needed = (name: string) =>
      /\.so/.test(name) && !/_plugin\.so/.test(name) && (!/_frontend\.so/.test(name) || /_ir_frontend/.test(name));
    for (const name of (await readdir(libraryDir!)).filter(needed)) await copyFile(join(libraryDir!, name), join(copy, name));
    const script = `
      import { loadOpenVinoC } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).pathname)};
      const { tinyIr } = await import('@ovseal/test-fixtures');
      const ov = await loadOpenVinoC({ libraryPath: ${JSON.stringify(copy)} });
      const core = new ov.Core();
      const { xml, weights } = tinyIr({});
      const w = new Uint8Array(new ArrayBuffer(weights.byteLength)); w.set(weights);
      const model = await core.readModel(xml, new ov.Tensor('u8', [w.byteLength], w));
      const devices = core.getAvailableDevices();
      const error = await core.compileModel(model, 'CPU').then(() => undefined, (e) => e);
      console.log(JSON.stringify({ devices, code: error?.code, operation: error?.operation, message: error?.message }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('.', import.meta.url).pathname,
      env: { ...process.env, OVSEAL_OPENVINO_LIB: '' },
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { devices: string[]; code: string; operation: string; message: string };
    expect(result.devices).not.toContain('CPU');
    expect(result).toMatchObject({ code: 'ERR_OPENVINO', operation: 'ov_core_compile_model' });
  });
});

async function findSystemLibrary(name: RegExp): Promise<string> {
  for (const dir of ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib/aarch64-linux-gnu']) {
    const found = (await readdir(dir).catch(() => [] as string[])).find((file) => name.test(file));
    if (found) return join(dir, found);
  }
  throw new Error(`no system library matching ${name}`);
}
