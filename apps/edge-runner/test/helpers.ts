import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ocrModels } from '@ovseal/test-fixtures';
import { PUBLISHER, RUNNER_BIN, runNode, spawnReady, type Spawned } from '../../key-broker/test/helpers.js';
import type { TextImage } from '../src/index.js';

export * from '../../key-broker/test/helpers.js';

/** Writes a runner config (trusting the test publisher); returns its path. */
export async function writeConfig(dir: string, name: string, config: Record<string, unknown>): Promise<string> {
  const path = join(dir, `${name}.json`);
  await writeFile(join(dir, 'publisher.pem.pub'), PUBLISHER.publicKeyPem);
  await writeFile(
    path,
    JSON.stringify(
      { listen: { host: '127.0.0.1', port: 0 }, pollSeconds: 1, progress: 'never', trust: ['publisher.pem.pub'], ...config },
      null,
      2,
    ),
  );
  return path;
}

export function edge(...args: string[]) {
  return runNode([RUNNER_BIN, ...args]);
}

export function spawnRunner(configPath: string): Promise<Spawned> {
  return spawnReady([RUNNER_BIN, 'run', '--config', configPath]);
}

export interface Health {
  status: string;
  broker: { state: string; lastError: string | null };
  models: { id: string; version: string; source: string; runtime: string }[];
  problems: Record<string, string>;
}

export async function health(runner: Spawned): Promise<Health> {
  return (await fetch(`${runner.url}/healthz`)).json() as Promise<Health>;
}

export async function inferImage(
  runner: Spawned,
  image: TextImage,
): Promise<{ status: number; body: Record<string, any>; probabilities?: Float32Array }> {
  const response = await fetch(`${runner.url}/v1/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: { x: { type: 'float32', dims: image.dims, base64: Buffer.from(image.data.buffer).toString('base64') } },
    }),
  });
  const body = (await response.json()) as Record<string, any>;
  if (response.status !== 200) return { status: response.status, body };
  const output = Object.values(body['outputs'] as Record<string, { base64: string }>)[0]!;
  const bytes = Buffer.from(output.base64, 'base64');
  return { status: 200, body, probabilities: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) };
}

/** The reference: the plain (never sealed) detector in ONNX Runtime. */
export async function plainDetector(image: TextImage): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(ocrModels.detector, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const outputs = await session.run({ x: new ort.Tensor('float32', image.data, [...image.dims]) });
    return outputs[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}
