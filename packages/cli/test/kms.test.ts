// `ovseal seal --recipient aws-kms:…` and `ovseal open` with a KMS identity, through the real AWS
// SDK inside the real binary, against kms-local on loopback.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKmsLocal } from '@ovseal/kms-local';
import { ovsealAsync as ovseal, tempDir } from './helpers.js';

type Kms = Awaited<ReturnType<typeof startKmsLocal>>;
let kms: Kms;
let dir: string;
let cleanup: () => void;
let env: Record<string, string>;
let arn: string;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir());
  kms = await startKmsLocal();
  arn = (await kms.createKey({ alias: 'alias/models' })).arn;
  env = {
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_REGION: kms.region,
    AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
    AWS_MAX_ATTEMPTS: '1',
  };
  writeFileSync(join(dir, 'model.onnx'), Buffer.from('not really onnx, but bytes to protect'));
});
afterAll(async () => {
  await kms?.stop();
  cleanup();
});

describe('ovseal CLI with aws-kms URIs (kms-local)', () => {
  it('seals to an alias and opens with the ARN and with the alias', async () => {
    const sealed = await ovseal(dir, ['seal', 'model.onnx', '-r', 'aws-kms:alias/models', '-o', 'm.ovseal', '--json'], env);
    expect(sealed.stderr).toBe('');
    expect(sealed.code).toBe(0);
    const info = JSON.parse(sealed.stdout);
    expect(info.recipients).toEqual([{ type: 'aws-kms', args: [arn] }]);
    for (const uri of [`aws-kms:${arn}`, 'aws-kms:alias/models']) {
      const out = `out-${uri.length}`;
      const opened = await ovseal(dir, ['open', 'm.ovseal', '-i', uri, '-o', out], env);
      expect(opened.code, opened.stderr).toBe(0);
      expect(readFileSync(join(dir, out, 'model.onnx'), 'utf8')).toContain('bytes to protect');
    }
  });

  it('a disabled key exits 7 with a typed KMS error', async () => {
    await kms.disableKey(arn);
    const opened = await ovseal(dir, ['open', 'm.ovseal', '-i', `aws-kms:${arn}`, '-o', 'never', '--json'], env);
    await kms.enableKey(arn);
    expect(opened.code).toBe(7);
    expect(JSON.parse(opened.stdout).error.code).toBe('ERR_KMS_KEY_DISABLED');
  });
});
