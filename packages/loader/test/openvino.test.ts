/**
 * Sealed models through the real OpenVINO runtime (openvino-node), wherever its native runtime
 * loads. On machines without it (these: its install script downloads the runtime from a host they
 * cannot reach) the suite is skipped with a loud reason; it is the one skip CI allows. Run it with
 * `pnpm test:openvino` (scripts/test-openvino.sh installs the runtime first and sets
 * OVSEAL_REQUIRE_OPENVINO=1, under which a missing runtime fails).
 *
 * Whenever the runtime loads, wrong results fail: sealed models must infer exactly like the same
 * plaintext files loaded by OpenVINO itself, and the known models must compute what they should.
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-node';
import { sealToBuffer } from '@ovseal/container';
import { tinyIr } from '@ovseal/test-fixtures';
import {
  CompiledModelCache,
  loadOpenVino,
  type CompiledModelCacheEvent,
  type OpenVinoAddon,
  type OpenVinoCompiledModel,
  type OpenVinoCore,
} from '../src/index.js';
import { describeFixtures, ocrModels } from './helpers/fixtures.js';
import { freshKey } from './helpers/keys.js';
import { decodeTensor } from './helpers/onnx-proto.js';

type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array;

const runtime: OpenVinoAddon | Error = await import('openvino-node').then(
  (module: { addon?: OpenVinoAddon; default?: { addon?: OpenVinoAddon } }) =>
    module.addon ?? module.default?.addon ?? new Error('openvino-node exports no addon'),
  (error: Error) => error,
);
const requireOpenVino = process.env.OVSEAL_REQUIRE_OPENVINO === '1';
const HOW_TO_RUN =
  'run `pnpm test:openvino` on a machine that can download the OpenVINO runtime (scripts/test-openvino.sh)';

if (runtime instanceof Error) {
  const reason = `OpenVINO runtime not available (${runtime.message.split('\n')[0]})`;
  if (requireOpenVino) {
    test('the OpenVINO runtime loads (OVSEAL_REQUIRE_OPENVINO=1)', () => {
      throw new Error(`${reason}; ${HOW_TO_RUN}`);
    });
  } else {
    console.warn(`\n!!! SKIPPED the OpenVINO suite: ${reason}. To run it, ${HOW_TO_RUN}.\n`);
    test.skip(`OpenVINO suite (SKIPPED: ${reason}; ${HOW_TO_RUN})`, () => undefined);
  }
} else {
  defineSuites(runtime);
}

function defineSuites(ov: OpenVinoAddon): void {
  const { recipient, identity } = freshKey();
  const device = 'CPU';
  // Full precision, so results compare across runtimes and runs (some CPUs default to bf16).
  const config = { INFERENCE_PRECISION_HINT: 'f32' };
  const core: OpenVinoCore = new ov.Core();
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ovseal-openvino-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const sealIr = (xml: Uint8Array, weights: Uint8Array, name: string) =>
    sealToBuffer({
      entries: [
        { name: 'model.xml', role: 'xml', data: xml },
        { name: 'model.bin', role: 'weights', data: weights },
      ],
      metadata: { name, version: '1', format: 'openvino-ir' },
      recipients: [recipient],
    });

  /** Runs one inference with fresh request state; returns each output's values, in output order. */
  function infer(compiled: OpenVinoCompiledModel, inputs: TypedArray[], types: string[]): number[][] {
    const request = compiled.createInferRequest();
    const tensors = compiled.inputs.map((input, i) => new ov.Tensor(types[i] as 'f32', input.getShape(), inputs[i]!));
    request.infer(tensors);
    return compiled.outputs.map((_, i) => Array.from(request.getOutputTensor(i).data as ArrayLike<number>));
  }

  describe('OpenVINO IR', () => {
    test('the project’s tiny IR adds its sealed constant', async () => {
      const addend = Array.from({ length: 10 }, (_, i) => i * 0.25 - 1);
      const { xml, weights } = tinyIr({ shape: [1, 10], addend }) as { xml: string; weights: Uint8Array };
      const loaded = await loadOpenVino(await sealIr(new TextEncoder().encode(xml), weights, 'tiny'), {
        identities: [identity],
        core,
        device,
        config,
      });
      const input = Float32Array.from({ length: 10 }, (_, i) => i);
      const [output] = infer(loaded.compiledModel, [input], ['f32']);
      expect(output).toEqual(Array.from(input, (value, i) => Math.fround(value + addend[i]!)));
      loaded.dispose();
    });

    test('decrypted into shared memory (workers), the weights still reach OpenVINO intact', async () => {
      const { xml, weights } = tinyIr({ shape: [1, 10], addend: 3 }) as { xml: string; weights: Uint8Array };
      const loaded = await loadOpenVino(await sealIr(new TextEncoder().encode(xml), weights, 'tiny'), {
        identities: [identity],
        core,
        device,
        config,
        workers: 2,
      });
      const [output] = infer(loaded.compiledModel, [new Float32Array(10)], ['f32']);
      expect(output).toEqual(new Array(10).fill(3));
      loaded.dispose();
    });

    describeFixtures('model_server IR fixtures, sealed vs plain', 'openvino-ir', (fixtures) => {
      const models = readdirSync(fixtures).sort();
      test.each(models)('%s', async (name) => {
        const xmlPath = join(fixtures, name, 'model.xml');
        const binPath = join(fixtures, name, 'model.bin');
        const xml = await readFile(xmlPath);
        const { types, inputs } = inputsFor(xml.toString('utf8'));
        const plain = await core.compileModel(await core.readModel(xmlPath, binPath), device, config);
        const loaded = await loadOpenVino(await sealIr(xml, await readFile(binPath), name), {
          identities: [identity],
          core,
          device,
          config,
        });
        const filled = inputs(loaded.compiledModel.inputs.map((input) => input.getShape()));
        expect(infer(loaded.compiledModel, filled, types)).toEqual(infer(plain, filled, types));
        if (name === 'dummy') {
          // dummy adds the constant 1.0 from model.bin to its 1x10 input.
          const [output] = infer(loaded.compiledModel, filled, types);
          expect(output).toEqual(Array.from(filled[0]!, (value) => Number(value) + 1));
        }
        loaded.dispose();
      });
    });
  });

  describe('compiled blobs and the encrypted cache', () => {
    const { xml, weights } = tinyIr({ shape: [1, 10], addend: 2 }) as { xml: string; weights: Uint8Array };
    const input = Float32Array.from({ length: 10 }, (_, i) => i);
    const expected = Array.from(input, (value) => value + 2);

    test('a sealed exported blob is imported with importModel', async () => {
      const compiled = await core.compileModel(
        await core.readModel(xml, new ov.Tensor('u8', [weights.length], Uint8Array.from(weights))),
        device,
        config,
      );
      const blob = await sealToBuffer({
        entries: [{ name: 'model.blob', role: 'blob', data: compiled.exportModelSync() }],
        metadata: { name: 'tiny-blob', version: '1' },
        recipients: [recipient],
      });
      const loaded = await loadOpenVino(blob, { identities: [identity], core, device, config });
      expect(loaded.model).toBeUndefined();
      expect(infer(loaded.compiledModel, [input], ['f32'])).toEqual([expected]);
      loaded.dispose();
    });

    test('store, hit, then a corrupt entry falls back to compiling', async () => {
      const events: CompiledModelCacheEvent[] = [];
      const cache = new CompiledModelCache({
        dir: join(dir, 'cache'),
        recipients: [recipient],
        identities: [identity],
        onEvent: (event) => events.push(event),
      });
      const sealed = await sealIr(new TextEncoder().encode(xml), weights, 'tiny-cached');
      const options = { identities: [identity], core, device, config, cache };
      const first = await loadOpenVino(sealed, options);
      expect(events.map((event) => event.type)).toEqual(['miss', 'stored']);
      expect(infer(first.compiledModel, [input], ['f32'])).toEqual([expected]);
      first.dispose();

      const second = await loadOpenVino(sealed, options);
      expect(second.fromCache).toBe(true);
      expect(infer(second.compiledModel, [input], ['f32'])).toEqual([expected]);
      second.dispose();

      const [file] = await readdir(cache.dir);
      const bytes = await readFile(join(cache.dir, file!));
      bytes[bytes.length - 1]! ^= 1;
      await writeFile(join(cache.dir, file!), bytes);
      const third = await loadOpenVino(sealed, options);
      expect(third.fromCache).toBe(false);
      expect(events.map((event) => event.type).slice(-2)).toEqual(['discarded', 'stored']);
      expect(infer(third.compiledModel, [input], ['f32'])).toEqual([expected]);
      third.dispose();
    });

    test('CACHE_DIR set on the core is refused', async () => {
      const cachingCore = new ov.Core();
      cachingCore.setProperty({ CACHE_DIR: join(dir, 'ov-cache') });
      const sealed = await sealIr(new TextEncoder().encode(xml), weights, 'tiny');
      await expect(loadOpenVino(sealed, { identities: [identity], core: cachingCore })).rejects.toMatchObject({
        code: 'ERR_UNSAFE_CONFIG',
      });
    });
  });

  describe('ONNX through OpenVINO', () => {
    test('the PP-OCRv4 detector infers like ONNX Runtime', async () => {
      const onnx = new Uint8Array(await readFile(ocrModels.detector));
      const sealed = await sealToBuffer({
        entries: [{ name: 'det.onnx', role: 'onnx', data: onnx }],
        metadata: { name: 'ppocr-det', version: '4' },
        recipients: [recipient],
      });
      const input = Float32Array.from({ length: 3 * 64 * 96 }, (_, i) => Math.sin(i * 0.013) * 0.5);
      const session = await ort.InferenceSession.create(onnx);
      const reference = (await session.run({ x: new ort.Tensor('float32', input, [1, 3, 64, 96]) }))[session.outputNames[0]!]!
        .data as Float32Array;
      await session.release();
      const loaded = await loadOpenVino(sealed, { identities: [identity], core, device, config });
      const request = loaded.compiledModel.createInferRequest();
      request.infer([new ov.Tensor('f32', [1, 3, 64, 96], input)]);
      const output = request.getOutputTensor(0).data as Float32Array;
      expect(output.length).toBe(reference.length);
      const worst = output.reduce((max, value, i) => Math.max(max, Math.abs(value - reference[i]!)), 0);
      expect(worst).toBeLessThan(1e-3);
      loaded.dispose();
    });

    describeFixtures('pytorch-converted cases, sealed vs plain OpenVINO', 'onnx/pytorch-converted', (fixtures) => {
      const cases = readdirSync(fixtures).sort();
      test.each(cases)('%s', async (name) => {
        const modelPath = join(fixtures, name, 'model.onnx');
        const onnx = new Uint8Array(await readFile(modelPath));
        const sealed = await sealToBuffer({
          entries: [{ name: 'model.onnx', role: 'onnx', data: onnx }],
          metadata: { name, version: '1' },
          recipients: [recipient],
        });
        const plain = await core
          .readModel(modelPath)
          .then((model) => core.compileModel(model, device, config))
          .catch((error: Error) => error);
        const loading = loadOpenVino(sealed, { identities: [identity], core, device, config });
        if (plain instanceof Error) {
          // OpenVINO refuses the plaintext model too: the sealed one must fail the same way.
          await expect(loading).rejects.toThrow(plain.message);
          return;
        }
        const loaded = await loading;
        const dataSet = join(fixtures, name, 'test_data_set_0');
        const decoded = await Promise.all(
          readdirSync(dataSet)
            .filter((file) => file.startsWith('input_'))
            .sort()
            .map(async (file) => decodeTensor(await readFile(join(dataSet, file)))),
        );
        if (decoded.some((tensor) => tensor.type !== 'float32')) {
          // openvino-node 2024.3 takes no BigInt64Array: integer-input cases run in ONNX Runtime only.
          loaded.dispose();
          return;
        }
        const inputs = decoded.map((tensor) => tensor.data as Float32Array);
        const types = decoded.map(() => 'f32');
        expect(infer(loaded.compiledModel, inputs, types)).toEqual(infer(plain, inputs, types));
        loaded.dispose();
      });
    });
  });
}

/** Element types of the IR's Parameters (in layer order) and a deterministic input for each. */
function inputsFor(xml: string): { types: string[]; inputs: (shapes: number[][]) => TypedArray[] } {
  const types: string[] = [];
  for (const layer of xml.matchAll(/<layer\b[^>]*\btype="Parameter"[^>]*>\s*<data\b([^>]*)>/g)) {
    types.push(/element_type="(\w+)"/.exec(layer[1]!)?.[1] ?? 'f32');
  }
  const arrays: Record<string, (n: number) => TypedArray> = {
    f32: (n) => Float32Array.from({ length: n }, (_, i) => i * 0.5 - 1),
    f64: (n) => Float64Array.from({ length: n }, (_, i) => i * 0.5 - 1),
    i32: (n) => Int32Array.from({ length: n }, (_, i) => i - 1),
    u8: (n) => Uint8Array.from({ length: n }, (_, i) => i),
    i8: (n) => Int8Array.from({ length: n }, (_, i) => i - 1),
  };
  return {
    types,
    inputs: (shapes) =>
      shapes.map((shape, i) => {
        const make = arrays[types[i] ?? 'f32'];
        if (!make) throw new Error(`no test input for element type ${types[i]}`);
        return make(shape.reduce((a, b) => a * b, 1));
      }),
  };
}
