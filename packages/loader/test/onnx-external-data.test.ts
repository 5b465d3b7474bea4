/**
 * ONNX external data (how every ONNX model over 2 GB stores its weights): the external files must
 * come from the same container, in memory. A runtime must never read an unsealed file next to the
 * working directory: a decoy `weights.bin` in the cwd is never used, and a model whose external
 * file is not sealed with it is refused with ERR_EXTERNAL_DATA before any runtime sees it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-node';
import { sealToBuffer, type EntryRole } from '@ovseal/container';
import { loadOpenVino } from '../src/index.js';
import { loadOnnxRuntime } from '../src/onnxruntime.js';
import { externalReferences } from '../src/lib/onnx-external-data.js';
import { freshKey } from './helpers/keys.js';
import { describeOpenVino } from './helpers/openvino.js';
import { externalDataModel } from './helpers/onnx-proto.js';

const { recipient, identity } = freshKey();
const a = Float32Array.from({ length: 16 }, (_, i) => i);
const b = Float32Array.from({ length: 16 }, (_, i) => 100 * (i + 1));
const x = Float32Array.from({ length: 16 }, (_, i) => -i / 2);
const expected = Array.from(x, (value, i) => value + a[i]! + b[i]!);

let workDir: string;
let originalCwd: string;
beforeAll(async () => {
  // A decoy next to where a runtime would look: the working directory.
  workDir = await mkdtemp(join(tmpdir(), 'ovseal-external-'));
  const decoy = externalDataModel(new Float32Array(16).fill(-1e6), new Float32Array(16).fill(-1e6), 'weights.bin');
  await writeFile(join(workDir, 'weights.bin'), decoy.external);
  await writeFile(join(workDir, 'w.bin'), decoy.external);
  originalCwd = process.cwd();
  process.chdir(workDir);
});
afterAll(async () => {
  process.chdir(originalCwd);
  await rm(workDir, { recursive: true, force: true });
});

function sealWith(entries: { name: string; role: EntryRole; data: Uint8Array }[]) {
  return sealToBuffer({ entries, metadata: { name: 'external', version: '1', format: 'onnx' }, recipients: [recipient] });
}

async function runOrt(sealed: Uint8Array): Promise<number[]> {
  const loaded = await loadOnnxRuntime(sealed, { identities: [identity] });
  try {
    const { y } = await loaded.session.run({ x: new ort.Tensor('float32', x, [16]) });
    return Array.from(y!.data as Float32Array);
  } finally {
    await loaded.dispose();
  }
}

describe('finding external references', () => {
  test('every external tensor, with its location, offset and length', () => {
    const { model } = externalDataModel(a, b, 'weights.bin');
    expect(externalReferences(model)).toEqual([
      { location: 'weights.bin', offset: 0, length: 64 },
      { location: 'weights.bin', offset: 64, length: 64 },
    ]);
  });

  test('malformed protobuf is a typed error', () => {
    expect(() => externalReferences(Uint8Array.of(0x3a, 0xff, 0xff))).toThrow(expect.objectContaining({ code: 'ERR_EXTERNAL_DATA' }));
  });
});

describe('ONNX Runtime', () => {
  test('external data sealed with the model comes from the container, not the decoy in the cwd', async () => {
    const { model, external } = externalDataModel(a, b, 'weights.bin');
    const sealed = await sealWith([
      { name: 'model.onnx', role: 'onnx', data: model },
      { name: 'weights.bin', role: 'weights', data: external },
    ]);
    expect(await runOrt(sealed)).toEqual(expected);
  });

  test('a location in a sub-folder is resolved next to the ONNX entry', async () => {
    const { model, external } = externalDataModel(a, b, 'data/w.bin');
    const sealed = await sealWith([
      { name: 'det/model.onnx', role: 'onnx', data: model },
      { name: 'det/data/w.bin', role: 'aux', data: external },
    ]);
    expect(await runOrt(sealed)).toEqual(expected);
  });

  test('an external file that is not in the container is refused; the decoy is never read', async () => {
    const { model } = externalDataModel(a, b, 'weights.bin');
    const sealed = await sealWith([{ name: 'model.onnx', role: 'onnx', data: model }]);
    await expect(loadOnnxRuntime(sealed, { identities: [identity] })).rejects.toMatchObject({
      code: 'ERR_EXTERNAL_DATA',
      hint: expect.stringMatching(/seal the external data/),
    });
  });

  test('locations that leave the model folder, and ranges past the file, are refused', async () => {
    for (const location of ['../weights.bin', '/tmp/weights.bin', 'a\\b.bin']) {
      const { model, external } = externalDataModel(a, b, location);
      const sealed = await sealWith([
        { name: 'model.onnx', role: 'onnx', data: model },
        { name: 'weights.bin', role: 'weights', data: external },
      ]);
      await expect(loadOnnxRuntime(sealed, { identities: [identity] }), location).rejects.toMatchObject({ code: 'ERR_EXTERNAL_DATA' });
    }
    const { model, external } = externalDataModel(a, b, 'weights.bin');
    const sealed = await sealWith([
      { name: 'model.onnx', role: 'onnx', data: model },
      { name: 'weights.bin', role: 'weights', data: external.subarray(0, 100) },
    ]);
    await expect(loadOnnxRuntime(sealed, { identities: [identity] })).rejects.toMatchObject({ code: 'ERR_EXTERNAL_DATA' });
  });
});

describeOpenVino('OpenVINO', (ov) => {
  const core = new ov.Core();
  const runOpenVino = async (sealed: Uint8Array) => {
    using loaded = await loadOpenVino(sealed, { identities: [identity], openvino: ov, core, config: { INFERENCE_PRECISION_HINT: 'f32' } });
    const { y } = await loaded.compiledModel.createInferRequest().inferAsync({ x });
    return Array.from(y!.data as Float32Array);
  };

  test('external data is inlined from the container: the decoy in the cwd is never read', async () => {
    const { model, external } = externalDataModel(a, b, 'weights.bin');
    const sealed = await sealWith([
      { name: 'model.onnx', role: 'onnx', data: model },
      { name: 'weights.bin', role: 'weights', data: external },
    ]);
    expect(await runOpenVino(sealed)).toEqual(expected);
  });

  test('an external file that is not in the container is refused before OpenVINO sees the model', async () => {
    const { model } = externalDataModel(a, b, 'weights.bin');
    const sealed = await sealWith([{ name: 'model.onnx', role: 'onnx', data: model }]);
    await expect(loadOpenVino(sealed, { identities: [identity], openvino: ov, core })).rejects.toMatchObject({ code: 'ERR_EXTERNAL_DATA' });
  });

  test('a range past the end of the sealed file is refused', async () => {
    const { model, external } = externalDataModel(a, b, 'weights.bin');
    const sealed = await sealWith([
      { name: 'model.onnx', role: 'onnx', data: model },
      { name: 'weights.bin', role: 'weights', data: external.subarray(0, 100) },
    ]);
    await expect(loadOpenVino(sealed, { identities: [identity], openvino: ov, core })).rejects.toMatchObject({ code: 'ERR_EXTERNAL_DATA' });
  });
});
