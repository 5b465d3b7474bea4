// The runner's runtimes: ONNX Runtime always; OpenVINO where its native runtime loads (these
// machines cannot download it: that suite skips loudly, and fails under OVSEAL_REQUIRE_OPENVINO=1,
// as the loader's own OpenVINO suite does — `pnpm test:openvino`).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '@ovseal/container';
import { TpmEcdhRecipient } from '@ovseal/key-tpm';
import { ocrModels } from '@ovseal/test-fixtures';
import { drawTextImage, FileDeviceKey } from '../src/index.js';
import { loadSealedModel } from '../src/lib/runtime.js';
import { plainDetector, tempDir } from './helpers.js';

const openVino = await import('openvino-node').then(
  (module: { addon?: unknown; default?: { addon?: unknown } }) => (module.addon ?? module.default?.addon ? null : new Error('no addon')),
  (error: Error) => error,
);
const requireOpenVino = process.env['OVSEAL_REQUIRE_OPENVINO'] === '1';
const image = drawTextImage(128, 64, [{ text: 'OV', x: 8, y: 8 }]);

describe('runner runtimes', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let key: FileDeviceKey;
  let sealed: string;
  let reference: Float32Array;

  beforeAll(async () => {
    dir = await tempDir('ovseal-runtime-');
    key = await FileDeviceKey.generate(join(dir.path, 'device.pem'));
    sealed = join(dir.path, 'det.ovseal');
    await seal({ output: sealed, entries: [{ name: 'det.onnx', role: 'onnx', path: ocrModels.detector }], metadata: { name: 'det', version: '1' }, recipients: [new TpmEcdhRecipient(key.publicKeyPem)] });
    reference = await plainDetector(image);
  });
  afterAll(async () => dir?.remove());

  async function runWith(runtime: 'auto' | 'onnxruntime' | 'openvino') {
    const model = await loadSealedModel(sealed, { identities: [key], trust: undefined, rollback: undefined, runtime });
    try {
      const outputs = await model.run({ x: { type: 'float32', dims: image.dims, data: image.data } });
      return { runtime: model.runtime, output: Object.values(outputs)[0]!.data as Float32Array };
    } finally {
      await model.dispose();
    }
  }

  it('ONNX Runtime: the sealed model answers like the plain one', async () => {
    const { runtime, output } = await runWith('onnxruntime');
    expect(runtime).toBe('onnxruntime');
    expect(output.reduce((max, value, i) => Math.max(max, Math.abs(value - reference[i]!)), 0)).toBeLessThan(1e-4);
  });

  if (openVino instanceof Error) {
    it('auto: falls back to ONNX Runtime when the OpenVINO runtime is missing', async () => {
      expect((await runWith('auto')).runtime).toBe('onnxruntime');
    });
    if (requireOpenVino) {
      it('the OpenVINO runtime loads (OVSEAL_REQUIRE_OPENVINO=1)', () => {
        throw new Error(`OpenVINO runtime not available: ${openVino.message.split('\n')[0]}`);
      });
    } else {
      console.warn(`\n!!! SKIPPED the runner's OpenVINO test: the OpenVINO runtime is not available (${openVino.message.split('\n')[0]}); run \`pnpm test:openvino\` where it can be downloaded.\n`);
      it.skip('OpenVINO: the sealed model answers like the plain one (SKIPPED: no OpenVINO runtime)', () => undefined);
    }
  } else {
    it('OpenVINO (auto picks it): the sealed model answers like the plain one', async () => {
      const { runtime, output } = await runWith('auto');
      expect(runtime).toBe('openvino');
      expect(output.reduce((max, value, i) => Math.max(max, Math.abs(value - reference[i]!)), 0)).toBeLessThan(1e-3);
    });
  }
});
