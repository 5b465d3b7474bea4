// The runner's runtimes on the sealed PP-OCRv4 detector: ONNX Runtime always; OpenVINO (through
// @ovseal/openvino-c on the pinned PyPI runtime) wherever it is installed — always in CI, where a
// missing runtime fails this suite (OVSEAL_REQUIRE_ALL=1). Both must find the same text boxes as
// the plain model on the demo's drawn image.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '@ovseal/container';
import { loadOpenVinoC } from '@ovseal/openvino-c';
import { TpmEcdhRecipient } from '@ovseal/key-tpm';
import { ocrModels } from '@ovseal/test-fixtures';
import { drawTextImage, FileDeviceKey, findTextBoxes } from '../src/index.js';
import { loadSealedModel } from '../src/lib/runtime.js';
import { plainDetector, tempDir } from './helpers.js';

// Found as the runner finds it: OVSEAL_OPENVINO_LIB, python3's openvino package, system folders.
const openVinoPresent = await loadOpenVinoC().then(
  () => true,
  () => false,
);
const requireOpenVino = process.env['OVSEAL_REQUIRE_ALL'] === '1' || process.env['OVSEAL_REQUIRE_OPENVINO'] === '1';
// The demo's image: two lines of text on a white page.
const image = drawTextImage(288, 96, [
  { text: 'OPENVINO', x: 12, y: 10 },
  { text: 'SEALED', x: 40, y: 54 },
]);

describe('runner runtimes', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let key: FileDeviceKey;
  let sealed: string;
  let reference: Float32Array;

  beforeAll(async () => {
    dir = await tempDir('ovseal-runtime-');
    key = await FileDeviceKey.generate(join(dir.path, 'device.pem'));
    sealed = join(dir.path, 'det.ovseal');
    await seal({
      output: sealed,
      entries: [{ name: 'det.onnx', role: 'onnx', path: ocrModels.detector }],
      metadata: { name: 'det', version: '1' },
      recipients: [new TpmEcdhRecipient(key.publicKeyPem)],
    });
    reference = await plainDetector(image);
  });
  afterAll(async () => dir?.remove());

  async function runWith(runtime: 'auto' | 'onnxruntime' | 'openvino') {
    const model = await loadSealedModel(sealed, { identities: [key], trust: undefined, rollback: undefined, runtime });
    try {
      const outputs = await model.run({ x: { type: 'float32', dims: image.dims, data: image.data } });
      return { runtime: model.runtime, engine: model.engine, output: Object.values(outputs)[0]!.data as Float32Array };
    } finally {
      await model.dispose();
    }
  }
  const worst = (output: Float32Array) => output.reduce((max, value, i) => Math.max(max, Math.abs(value - reference[i]!)), 0);
  const boxes = (map: Float32Array) => findTextBoxes(map, image.width, image.height);
  /** Box corners must match exactly; scores (mean probabilities) to float precision across runtimes. */
  const expectSameBoxes = (map: Float32Array) => {
    const [got, want] = [boxes(map), boxes(reference)];
    expect(got.map(({ score: _, ...corners }) => corners)).toEqual(want.map(({ score: _, ...corners }) => corners));
    got.forEach((box, i) => expect(Math.abs(box.score - want[i]!.score)).toBeLessThan(1e-4));
    expect(got).toHaveLength(2);
  };

  it('ONNX Runtime: the sealed model answers like the plain one and finds both lines', async () => {
    const { runtime, engine, output } = await runWith('onnxruntime');
    expect(runtime).toBe('onnxruntime');
    expect(engine).toMatch(/^ONNX Runtime \d/);
    expect(worst(output)).toBeLessThan(1e-4);
    expectSameBoxes(output);
  });

  if (openVinoPresent) {
    it('OpenVINO (auto picks it): the same text boxes as ONNX Runtime and the plain model', async () => {
      const { runtime, engine, output } = await runWith('auto');
      expect(runtime).toBe('openvino');
      expect(engine).toMatch(/^OpenVINO \d{4}\.\d+\.\d+ \(@ovseal\/openvino-c\)$/);
      expect(worst(output)).toBeLessThan(1e-3);
      expectSameBoxes(output);
    });
  } else if (requireOpenVino) {
    it('the OpenVINO runtime is installed (required here)', () => {
      throw new Error('OVSEAL_OPENVINO_LIB is unset and .venv-openvino holds no runtime: run `node scripts/ensure-openvino.mjs`');
    });
  } else {
    console.warn(
      "\n!!! SKIPPED the runner's OpenVINO test: no OpenVINO runtime (run `node scripts/ensure-openvino.mjs`, or set OVSEAL_OPENVINO_LIB).\n",
    );
    it('auto: falls back to ONNX Runtime when the OpenVINO runtime is missing', async () => {
      expect((await runWith('auto')).runtime).toBe('onnxruntime');
    });
  }
});
