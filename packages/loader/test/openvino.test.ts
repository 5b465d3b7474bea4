/**
 * Sealed models through the real OpenVINO runtime (the pinned PyPI wheel, through
 * @ovseal/openvino-c): every OpenVINO IR fixture of the model_server tests sealed, loaded from
 * memory and run, each checked against what the model computes; the project's own IR; compiled
 * blobs; tampering refused before OpenVINO sees a byte; bad models refused with typed errors.
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { inspect, sealToBuffer } from '@ovseal/container';
import { tinyIr } from '@ovseal/test-fixtures';
import { loadOpenVino, type OpenVinoCore } from '../src/index.js';
import { describeFixtures } from './helpers/fixtures.js';
import { countingIdentity, freshKey } from './helpers/keys.js';
import { describeOpenVino } from './helpers/openvino.js';

const { recipient, identity } = freshKey();
// Full precision, so results compare exactly across runs (some CPUs default to bf16).
const config = { INFERENCE_PRECISION_HINT: 'f32' };

const sealIr = (xml: string | Uint8Array, weights: Uint8Array, name: string) =>
  sealToBuffer({
    entries: [
      { name: 'model.xml', role: 'xml', data: typeof xml === 'string' ? new TextEncoder().encode(xml) : xml },
      { name: 'model.bin', role: 'weights', data: weights },
    ],
    metadata: { name, version: '1', format: 'openvino-ir' },
    recipients: [recipient],
  });

describeOpenVino('OpenVINO binding selection', (ov) => {
  test('auto: openvino-node has no native runtime here, so @ovseal/openvino-c serves', async () => {
    const { xml, weights } = tinyIr({ addend: 1 });
    const loaded = await loadOpenVino(await sealIr(xml, weights, 'tiny'), { identities: [identity], config });
    expect(loaded.binding).toEqual({ name: 'openvino-c', version: ov.version });
    const { output } = await loaded.compiledModel.createInferRequest().inferAsync({ input: new Float32Array(10) });
    expect(Array.from(output!.data as Float32Array)).toEqual(new Array(10).fill(1));
    loaded.dispose();
  });

  test('a binding that does not load fails before any key is unwrapped, with an install hint', async () => {
    const { xml, weights } = tinyIr({});
    const counting = countingIdentity(identity);
    const error = await loadOpenVino(await sealIr(xml, weights, 'tiny'), { identities: [counting], binding: 'openvino-node' }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'ERR_OPENVINO_UNAVAILABLE', message: expect.stringMatching(/openvino-node/) });
    expect((error as { hint: string }).hint).toMatch(/pip install openvino/);
    expect(counting.calls).toBe(0);
  });
});

describeOpenVino('OpenVINO IR', (ov) => {
  const core = new ov.Core();
  const infer = async (
    loaded: { compiledModel: { createInferRequest(): { inferAsync(i: unknown): Promise<Record<string, { data: unknown }>> } } },
    inputs: unknown,
  ) =>
    Object.values(await loaded.compiledModel.createInferRequest().inferAsync(inputs)).map((t) => Array.from(t.data as ArrayLike<number>));

  test('the project’s tiny IR adds its sealed constant; dispose frees OpenVINO’s objects, then zeroes the weights', async () => {
    const addend = Array.from({ length: 10 }, (_, i) => i * 0.25 - 1);
    const { xml, weights } = tinyIr({ shape: [1, 10], addend });
    const loaded = await loadOpenVino(await sealIr(xml, weights, 'tiny'), { identities: [identity], openvino: ov, core, config });
    const input = Float32Array.from({ length: 10 }, (_, i) => i);
    expect(await infer(loaded, { input })).toEqual([Array.from(input, (value, i) => Math.fround(value + addend[i]!))]);
    const compiled = loaded.compiledModel as unknown as { disposed: boolean };
    loaded.dispose();
    expect(compiled.disposed).toBe(true);
    loaded.dispose(); // idempotent
  });

  test('decrypted by worker threads, the weights still reach OpenVINO intact', async () => {
    const { xml, weights } = tinyIr({ shape: [1, 10], addend: 3 });
    using loaded = await loadOpenVino(await sealIr(xml, weights, 'tiny'), {
      identities: [identity],
      openvino: ov,
      core,
      config,
      workers: 2,
    });
    expect(await infer(loaded, [new Float32Array(10)])).toEqual([new Array(10).fill(3)]);
  });

  describeFixtures('model_server IR fixtures: sealed, loaded from memory, computing what they should', 'openvino-ir', (fixtures) => {
    const f32 = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
    const load = async (name: string) => {
      const [xml, bin] = await Promise.all(['model.xml', 'model.bin'].map((file) => readFile(join(fixtures, name, file))));
      return loadOpenVino(await sealIr(xml!, bin!, name), { identities: [identity], openvino: ov, core, config });
    };

    test('every fixture is covered', () => {
      expect(readdirSync(fixtures).sort()).toEqual([
        'add_two_inputs',
        'dummy',
        'dummy_fp64',
        'increment_1x3x4x5',
        'passthrough',
        'scalar',
        'summator',
      ]);
    });

    test('dummy adds 1.0 to a 1x10 input (IR v10)', async () => {
      using loaded = await load('dummy');
      const input = f32(10, (i) => i * 0.5 - 2);
      expect(await infer(loaded, [input])).toEqual([Array.from(input, (x) => x + 1)]);
    });

    test('increment_1x3x4x5 adds 1.0 to every element', async () => {
      using loaded = await load('increment_1x3x4x5');
      const input = f32(60, (i) => i - 30);
      expect(await infer(loaded, [input])).toEqual([Array.from(input, (x) => x + 1)]);
    });

    test('add_two_inputs adds its inputs (empty weights file)', async () => {
      using loaded = await load('add_two_inputs');
      const [a, b] = [f32(10, (i) => i), f32(10, (i) => 100 - i * 3)];
      expect(await infer(loaded, { input1: a, input2: b })).toEqual([Array.from(a, (x, i) => x + b[i]!)]);
    });

    test('scalar adds its (zero) constant to a rank-0 input', async () => {
      using loaded = await load('scalar');
      expect(await infer(loaded, [new ov.Tensor('f32', [], Float32Array.of(4.25))])).toEqual([[4.25]]);
    });

    test('passthrough returns its u8 input, at any shape', async () => {
      using loaded = await load('passthrough');
      const input = Uint8Array.from({ length: 6 }, (_, i) => 250 - i * 40);
      expect(await infer(loaded, [new ov.Tensor('u8', [2, 3], input)])).toEqual([Array.from(input)]);
    });

    test('dummy_fp64 adds 1.0 to an f64 input', async () => {
      using loaded = await load('dummy_fp64');
      // The CPU plugin computes f64 graphs in f32: values exact in both keep the check exact.
      const input = Float64Array.from({ length: 20 }, (_, i) => i * 0.25 - 2);
      expect(await infer(loaded, [new ov.Tensor('f64', [2, 10], input)])).toEqual([Array.from(input, (x) => x + 1)]);
    });

    test('summator accumulates its input across inferences of one request (stateful)', async () => {
      using loaded = await load('summator');
      const request = loaded.compiledModel.createInferRequest();
      const sums: number[] = [];
      for (const value of [1, 2, 3.5]) {
        const [sum] = Object.values(await request.inferAsync([Float32Array.of(value)]));
        sums.push((sum!.data as Float32Array)[0]!);
      }
      expect(sums).toEqual([1, 3, 6.5]);
    });
  });

  test('a tampered weights segment is refused before OpenVINO sees any byte', async () => {
    const { xml, weights } = tinyIr({ shape: [1, 4096], addend: 2 });
    const sealed = await sealIr(xml, weights, 'tampered');
    const info = await inspect(sealed);
    // Flip a byte in the last quarter of the payload: the weights entry, after the xml.
    sealed[info.payloadOffset + Math.floor((sealed.length - info.payloadOffset) * 0.75)]! ^= 0x01;
    const reads: unknown[] = [];
    const spy = new Proxy(core, {
      get: (target, key) =>
        key === 'readModel'
          ? (...args: unknown[]) => (reads.push(args), (target.readModel as (...a: unknown[]) => unknown)(...args))
          : Reflect.get(target, key),
    }) as unknown as OpenVinoCore;
    await expect(loadOpenVino(sealed, { identities: [identity], openvino: ov, core: spy })).rejects.toMatchObject({
      code: 'ERR_AUTHENTICATION_FAILED',
    });
    expect(reads).toHaveLength(0);
  });

  test('IR weights that do not match the XML, an unknown device: typed errors, nothing kept', async () => {
    const { xml, weights } = tinyIr({ shape: [1, 10], addend: 1 });
    await expect(
      loadOpenVino(await sealIr(xml, weights.subarray(0, 20), 'short'), { identities: [identity], openvino: ov, core }),
    ).rejects.toMatchObject({ code: 'ERR_OPENVINO', operation: 'ov_core_read_model_from_memory_buffer' });
    await expect(
      loadOpenVino(await sealIr(xml, weights, 'tiny'), { identities: [identity], openvino: ov, core, device: 'NO_SUCH_DEVICE' }),
    ).rejects.toMatchObject({ code: 'ERR_OPENVINO', message: expect.stringMatching(/NO_SUCH_DEVICE/) });
    await expect(
      loadOpenVino(await sealIr('<net>not an IR', weights, 'garbage'), { identities: [identity], openvino: ov, core }),
    ).rejects.toMatchObject({ code: 'ERR_OPENVINO' });
  });
});

describeOpenVino('compiled blobs', (ov) => {
  const core = new ov.Core();
  test('exported to memory, sealed, imported by loadOpenVino: same outputs as the compiled IR', async () => {
    const { xml, weights } = tinyIr({ shape: [1, 10], addend: 2 });
    const owned = Uint8Array.from(weights);
    const compiled = await core.compileModel(await core.readModel(xml, new ov.Tensor('u8', [owned.length], owned)), 'CPU', config);
    const blob = compiled.exportModelSync();
    const sealed = await sealToBuffer({
      entries: [{ name: 'model.blob', role: 'blob', data: blob }],
      metadata: { name: 'tiny-blob', version: '1', format: 'openvino-blob' },
      recipients: [recipient],
    });
    using loaded = await loadOpenVino(sealed, { identities: [identity], openvino: ov, core, config });
    expect(loaded.model).toBeUndefined();
    const input = Float32Array.from({ length: 10 }, (_, i) => i);
    const run = async (model: { createInferRequest(): { inferAsync(i: unknown): Promise<Record<string, { data: unknown }>> } }) =>
      Array.from((await model.createInferRequest().inferAsync([input])).output!.data as Float32Array);
    expect(await run(loaded.compiledModel)).toEqual(await run(compiled));
    expect(await run(loaded.compiledModel)).toEqual(Array.from(input, (x) => x + 2));
  });
});
