import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-node';
import { NoMatchingKeyError, seal, sealToBuffer } from '@ovseal/container';
import { UnsafeConfigError, UnsupportedModelError } from '../src/index.js';
import { loadOnnxRuntime, type LoadedOnnxRuntimeSession } from '../src/onnxruntime.js';
import { ocrModels } from './helpers/fixtures.js';
import { freshKey } from './helpers/keys.js';

const { recipient, identity } = freshKey();
const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
let detector: Uint8Array;
let sealed: Uint8Array;
let dir: string;
let expected: Float32Array;
const input = detectorInput(64, 96);

beforeAll(async () => {
  detector = new Uint8Array(await readFile(ocrModels.detector));
  sealed = await sealToBuffer({
    entries: [{ name: 'det.onnx', role: 'onnx', data: detector }],
    metadata: { name: 'ppocr-det', version: '4.0.0' },
    recipients: [recipient],
  });
  dir = await mkdtemp(join(tmpdir(), 'ovseal-ort-'));
  const plain = await ort.InferenceSession.create(detector, sessionOptions);
  expected = await runDetector(plain);
  await plain.release();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadOnnxRuntime with the PP-OCRv4 detector', () => {
  test.each([
    ['on the calling thread', 0],
    ['with worker threads (plain memory, which N-API accepts)', 2],
  ])('from memory, decrypted %s, infers like the plain model', async (_, workers) => {
    const loaded = await loadOnnxRuntime(sealed, { identities: [identity], sessionOptions, workers });
    expect(loaded.info.metadata.name).toBe('ppocr-det');
    expect(loaded.session.inputNames).toEqual(['x']);
    expect(Array.from(await runDetector(loaded.session))).toEqual(Array.from(expected));
    await loaded.dispose();
    await loaded.dispose();
    expect(() => loaded.session).toThrowError(expect.objectContaining({ code: 'ERR_DISPOSED' }));
  });

  test('`await using` releases the session; an aborted load is an AbortError', async () => {
    let released: LoadedOnnxRuntimeSession;
    {
      await using loaded = await loadOnnxRuntime(sealed, { identities: [identity], sessionOptions });
      released = loaded;
      expect(Array.from(await runDetector(loaded.session))).toEqual(Array.from(expected));
    }
    expect(() => released.session).toThrowError(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    await expect(loadOnnxRuntime(sealed, { identities: [identity], sessionOptions, signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
  });

  test('from a sealed file', async () => {
    const path = join(dir, 'det.ovseal');
    await seal({
      output: path,
      entries: [{ name: 'det.onnx', role: 'onnx', path: ocrModels.detector }],
      metadata: { name: 'ppocr-det', version: '4.0.0' },
      recipients: [recipient],
    });
    const loaded = await loadOnnxRuntime(path, { identities: [identity], sessionOptions });
    expect(Array.from(await runDetector(loaded.session))).toEqual(Array.from(expected));
    await loaded.dispose();
  });

  test('a released session cannot run', async () => {
    const loaded = await loadOnnxRuntime(sealed, { identities: [identity], sessionOptions });
    const { session } = loaded;
    await loaded.dispose();
    await expect(runDetector(session)).rejects.toThrow();
    expect(() => loaded.session).toThrowError(expect.objectContaining({ code: 'ERR_DISPOSED' }));
  });
});

describe('refusals', () => {
  test('optimizedModelFilePath is refused before anything is decrypted or written', async () => {
    const dump = join(dir, 'optimized.onnx');
    const error = await loadOnnxRuntime(sealed, {
      identities: [identity],
      sessionOptions: { optimizedModelFilePath: dump },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(UnsafeConfigError);
    expect(error).toMatchObject({ code: 'ERR_UNSAFE_CONFIG', setting: 'sessionOptions.optimizedModelFilePath' });
    expect(existsSync(dump)).toBe(false);
  });

  test('an OpenVINO IR container is not an ONNX model', async () => {
    const ir = await sealToBuffer({
      entries: [
        { name: 'model.xml', role: 'xml', data: new TextEncoder().encode('<net/>') },
        { name: 'model.bin', role: 'weights', data: new Uint8Array(4) },
      ],
      metadata: { name: 'ir', version: '1' },
      recipients: [recipient],
    });
    await expect(loadOnnxRuntime(ir, { identities: [identity] })).rejects.toBeInstanceOf(UnsupportedModelError);
  });

  test('two ONNX entries are ambiguous', async () => {
    const two = await sealToBuffer({
      entries: [
        { name: 'a.onnx', role: 'onnx', data: detector },
        { name: 'b.onnx', role: 'onnx', data: detector },
      ],
      metadata: { name: 'two', version: '1' },
      recipients: [recipient],
    });
    await expect(loadOnnxRuntime(two, { identities: [identity] })).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED_MODEL',
    });
  });

  test('a container for another key does not open', async () => {
    await expect(loadOnnxRuntime(sealed, { identities: [freshKey().identity] })).rejects.toBeInstanceOf(NoMatchingKeyError);
  });
});

async function runDetector(session: ort.InferenceSession): Promise<Float32Array> {
  const outputs = await session.run({ x: new ort.Tensor('float32', input, [1, 3, 64, 96]) });
  const output = outputs[session.outputNames[0]!]!;
  return output.data as Float32Array;
}

/** A deterministic image-like input (no randomness: runs must be comparable). */
function detectorInput(height: number, width: number): Float32Array {
  const data = new Float32Array(3 * height * width);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.013) * 0.5 + ((i % width) / width) * 0.5;
  return data;
}
