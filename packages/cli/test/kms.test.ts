// `ovseal seal --recipient aws-kms:…` and `ovseal open` with a KMS identity, through the real AWS
// SDK inside the real binary, against kms-local on loopback.
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  await kms?.close();
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

const AWS = process.env['OVSEAL_AWS_CLI'] ?? 'aws';
const awsCli = spawnSync(AWS, ['--version'], { encoding: 'utf8' }).status === 0;
const requireAll = process.env['OVSEAL_REQUIRE_ALL'] === '1';
if (!awsCli && !requireAll) console.warn(`\n[@ovseal/cli] SKIPPING --sign aws-kms tests: '${AWS}' not found (apt-get install -y awscli)\n`);

describe.skipIf(!awsCli && !requireAll)('ovseal seal --sign aws-kms:… (kms-local, public key exported by the AWS CLI)', () => {
  it('signs in KMS; verify --trust takes the DER that `aws kms get-public-key` exports', async () => {
    await kms.createKey({ keySpec: 'ECC_NIST_P256', alias: 'alias/publisher' });
    const sealed = await ovseal(
      dir,
      ['seal', 'model.onnx', '-r', 'aws-kms:alias/models', '--sign', 'aws-kms:alias/publisher', '-o', 'signed.ovseal', '--json'],
      env,
    );
    expect(sealed.stderr).toBe('');
    expect(sealed.code).toBe(0);
    const info = JSON.parse(sealed.stdout);
    expect(info.signature.algorithm).toBe('ecdsa-p256');

    // Asynchronously: this process serves kms-local.
    const { stdout: exported } = await promisify(execFile)(
      AWS,
      [
        '--endpoint-url',
        kms.endpoint,
        '--region',
        kms.region,
        'kms',
        'get-public-key',
        '--key-id',
        'alias/publisher',
        '--output',
        'text',
        '--query',
        'PublicKey',
      ],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: dir,
          AWS_REGION: kms.region,
          AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
          AWS_CONFIG_FILE: join(dir, 'none'),
          AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'),
          AWS_PAGER: '',
        },
        encoding: 'utf8',
      },
    );
    writeFileSync(join(dir, 'publisher.der'), Buffer.from(exported.trim(), 'base64'));
    const verified = await ovseal(dir, ['verify', 'signed.ovseal', '--trust', 'publisher.der', '--json'], env);
    expect(verified.code, verified.stdout).toBe(0);
    expect(JSON.parse(verified.stdout).signature.keyId).toBe(info.signature.keyId);
  });

  it('a disabled signing key: exit 7, ERR_KMS_KEY_DISABLED, no container', async () => {
    const key = await kms.createKey({ keySpec: 'ECC_NIST_P256' });
    await kms.disableKey(key.arn);
    const sealed = await ovseal(
      dir,
      ['seal', 'model.onnx', '-r', 'aws-kms:alias/models', '--sign', `aws-kms:${key.arn}`, '-o', 'never.ovseal', '--json'],
      env,
    );
    expect(sealed.code).toBe(7);
    expect(JSON.parse(sealed.stdout).error.code).toBe('ERR_KMS_KEY_DISABLED');
    expect(readdirSync(dir).filter((f) => f.startsWith('never'))).toEqual([]);
  });
});
