import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startKmsLocal, type KmsLocal } from '../src/index.js';
import { awsCliAvailable, awsKms, AWS_CLI, clientFor, requireAll, type CliResult } from './helpers.js';

const AWS = AWS_CLI;
const available = awsCliAvailable;
const required = requireAll;
if (!available && !required) {
  console.warn(
    `\n*** SKIPPED kms-local awscli tests: '${AWS}' not found (apt-get install -y awscli; OVSEAL_REQUIRE_ALL=1 makes this a failure) ***\n`,
  );
}

describe.skipIf(!available && !required)('kms-local with the AWS CLI', () => {
  let kms: KmsLocal;
  let client: KMSClient;
  let dir: string;

  function aws(args: string[], secret = kms.credentials.secretAccessKey): Promise<CliResult> {
    return awsKms(kms, dir, args, secret);
  }

  beforeAll(async () => {
    if (!available) throw new Error(`'${AWS}' is required (OVSEAL_REQUIRE_ALL=1) but not found: apt-get install -y awscli`);
    kms = await startKmsLocal();
    client = clientFor(kms);
    dir = await mkdtemp(join(tmpdir(), 'kms-local-awscli-'));
  });
  afterAll(async () => {
    client?.destroy();
    await kms?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates a key and an alias, encrypts and decrypts, with ciphertexts crossing between the two clients', async () => {
    const created = await aws(['create-key', '--description', 'from the cli']);
    expect(created.stderr).toBe('');
    const arn = (JSON.parse(created.stdout) as { KeyMetadata: { Arn: string } }).KeyMetadata.Arn;
    expect((await aws(['create-alias', '--alias-name', 'alias/cli', '--target-key-id', arn])).code).toBe(0);

    // CLI encrypts (fileb:// passes raw bytes in AWS CLI v1 and v2 alike), the SDK decrypts.
    const plaintext = randomBytes(32);
    await writeFile(join(dir, 'plain.bin'), plaintext);
    const encrypted = await aws([
      'encrypt',
      '--key-id',
      'alias/cli',
      '--plaintext',
      `fileb://${join(dir, 'plain.bin')}`,
      '--encryption-context',
      'model=det,version=4',
    ]);
    expect(encrypted.stderr).toBe('');
    const { CiphertextBlob, KeyId } = JSON.parse(encrypted.stdout) as { CiphertextBlob: string; KeyId: string };
    expect(KeyId).toBe(arn);
    const bySdk = await client.send(
      new DecryptCommand({ CiphertextBlob: Buffer.from(CiphertextBlob, 'base64'), EncryptionContext: { model: 'det', version: '4' } }),
    );
    expect(Buffer.from(bySdk.Plaintext!)).toEqual(plaintext);

    // The SDK encrypts, the CLI decrypts.
    const sdkBlob = await client.send(new EncryptCommand({ KeyId: arn, Plaintext: plaintext, EncryptionContext: { model: 'det' } }));
    await writeFile(join(dir, 'blob.bin'), sdkBlob.CiphertextBlob!);
    const decrypted = await aws(['decrypt', '--ciphertext-blob', `fileb://${join(dir, 'blob.bin')}`, '--encryption-context', 'model=det']);
    expect(decrypted.stderr).toBe('');
    expect(Buffer.from((JSON.parse(decrypted.stdout) as { Plaintext: string }).Plaintext, 'base64')).toEqual(plaintext);

    // A wrong context is refused, and the CLI reports KMS's error type.
    const wrong = await aws(['decrypt', '--ciphertext-blob', `fileb://${join(dir, 'blob.bin')}`, '--encryption-context', 'model=other']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('InvalidCiphertextException');

    expect(await readFile(join(dir, 'blob.bin'))).toHaveLength(sdkBlob.CiphertextBlob!.length);
  });

  it('reports disabled keys and bad signatures with their KMS error types', async () => {
    const key = await kms.createKey();
    await kms.disableKey(key.arn);
    await writeFile(join(dir, 'one.bin'), Buffer.from([1]));
    const disabled = await aws(['encrypt', '--key-id', key.arn, '--plaintext', `fileb://${join(dir, 'one.bin')}`]);
    expect(disabled.code).not.toBe(0);
    expect(disabled.stderr).toContain('DisabledException');

    const badSecret = await aws(['list-keys'], 'wrong-secret');
    expect(badSecret.code).not.toBe(0);
    expect(badSecret.stderr).toContain('InvalidSignatureException');

    const listed = await aws(['list-keys']);
    expect((JSON.parse(listed.stdout) as { Keys: { KeyArn: string }[] }).Keys.map((k) => k.KeyArn)).toContain(key.arn);
  });
});
