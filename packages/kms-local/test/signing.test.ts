/**
 * Asymmetric signing keys (ECC_NIST_P256, SIGN_VERIFY): CreateKey, GetPublicKey, Sign and Verify
 * through the JavaScript SDK and through the AWS CLI, with signatures crossing between the two and
 * checked by OpenSSL against the exported public key.
 */
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetPublicKeyCommand,
  RotateKeyOnDemandCommand,
  SignCommand,
  VerifyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startKmsLocal, type KmsLocal } from '../src/index.js';
import { awsCliAvailable, awsKms, clientFor, rejectionOf, requireAll } from './helpers.js';

const MESSAGE = Buffer.from('ovseal/v1 signature\nsome header core');

describe('signing keys', () => {
  let kms: KmsLocal;
  let client: KMSClient;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kms-local-sign-'));
    kms = await startKmsLocal({ stateFile: join(dir, 'state.json') });
    client = clientFor(kms, { maxAttempts: 1 });
  });
  afterAll(async () => {
    client?.destroy();
    await kms?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function signingKey(): Promise<string> {
    const created = await client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    expect(created.KeyMetadata).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'] });
    return created.KeyMetadata!.Arn!;
  }

  it('signs with SHA-256 ECDSA in DER; the GetPublicKey key verifies it; Verify agrees', async () => {
    const arn = await signingKey();
    const publicKey = await client.send(new GetPublicKeyCommand({ KeyId: arn }));
    expect(publicKey).toMatchObject({
      KeyId: arn,
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    const spki = createPublicKey({ key: Buffer.from(publicKey.PublicKey!), format: 'der', type: 'spki' });
    expect(spki.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const signed = await client.send(
      new SignCommand({ KeyId: arn, Message: MESSAGE, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    expect(signed.KeyId).toBe(arn);
    const signature = Buffer.from(signed.Signature!);
    expect(signature[0]).toBe(0x30);
    expect(verify('sha256', MESSAGE, spki, signature)).toBe(true);
    expect(
      (await client.send(new VerifyCommand({ KeyId: arn, Message: MESSAGE, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' })))
        .SignatureValid,
    ).toBe(true);
    const other = Buffer.from(MESSAGE);
    other[0]! ^= 1;
    expect(
      (
        await rejectionOf(
          client.send(new VerifyCommand({ KeyId: arn, Message: other, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' })),
        )
      ).name,
    ).toBe('KMSInvalidSignatureException');
  });

  it('refuses what a signing key cannot do, and what kms-local does not do, with KMS error types', async () => {
    const arn = await signingKey();
    const symmetric = (await client.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
    const failures = await Promise.all([
      rejectionOf(client.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.alloc(32) }))),
      rejectionOf(client.send(new SignCommand({ KeyId: symmetric, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' }))),
      rejectionOf(client.send(new GetPublicKeyCommand({ KeyId: symmetric }))),
      rejectionOf(client.send(new SignCommand({ KeyId: arn, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_384' }))),
      rejectionOf(
        client.send(new SignCommand({ KeyId: arn, Message: Buffer.alloc(32), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })),
      ),
      rejectionOf(client.send(new SignCommand({ KeyId: arn, Message: Buffer.alloc(4097), SigningAlgorithm: 'ECDSA_SHA_256' }))),
      rejectionOf(client.send(new RotateKeyOnDemandCommand({ KeyId: arn }))),
      rejectionOf(client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY' }))),
    ]);
    expect(failures.map((f) => f.name)).toEqual([
      'InvalidKeyUsageException',
      'InvalidKeyUsageException',
      'UnsupportedOperationException',
      'InvalidKeyUsageException',
      'UnsupportedOperationException',
      'ValidationException',
      'UnsupportedOperationException',
      'UnsupportedOperationException',
    ]);
    await kms.disableKey(arn);
    expect(
      (await rejectionOf(client.send(new SignCommand({ KeyId: arn, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' })))).name,
    ).toBe('DisabledException');
    expect((await rejectionOf(client.send(new GetPublicKeyCommand({ KeyId: arn })))).name).toBe('DisabledException');
  });

  it('a signing key survives a restart from the state file (same public key), and the helper makes one', async () => {
    const key = await kms.createKey({ keySpec: 'ECC_NIST_P256', alias: 'alias/publisher' });
    expect(key).toMatchObject({ keySpec: 'ECC_NIST_P256', keyUsage: 'SIGN_VERIFY' });
    const before = (await client.send(new GetPublicKeyCommand({ KeyId: 'alias/publisher' }))).PublicKey!;
    client.destroy();
    await kms.close();
    kms = await startKmsLocal({ stateFile: join(dir, 'state.json') });
    client = clientFor(kms, { maxAttempts: 1 });
    expect(Buffer.from((await client.send(new GetPublicKeyCommand({ KeyId: 'alias/publisher' }))).PublicKey!)).toEqual(Buffer.from(before));
    expect((await client.send(new DescribeKeyCommand({ KeyId: key.arn }))).KeyMetadata?.KeyUsage).toBe('SIGN_VERIFY');
  });
});

if (!awsCliAvailable && !requireAll)
  console.warn('\n*** SKIPPED kms-local signing with the AWS CLI: aws not found (apt-get install -y awscli) ***\n');

describe.skipIf(!awsCliAvailable && !requireAll)('signing keys with the AWS CLI', () => {
  let kms: KmsLocal;
  let client: KMSClient;
  let dir: string;

  beforeAll(async () => {
    if (!awsCliAvailable) throw new Error('the AWS CLI is required (OVSEAL_REQUIRE_ALL=1) but not found: apt-get install -y awscli');
    kms = await startKmsLocal();
    client = clientFor(kms, { maxAttempts: 1 });
    dir = await mkdtemp(join(tmpdir(), 'kms-local-sign-cli-'));
  });
  afterAll(async () => {
    client?.destroy();
    await kms?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the CLI creates a signing key and signs; the SDK verifies; the SDK signs, the CLI verifies', async () => {
    const created = await awsKms(kms, dir, ['create-key', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY']);
    expect(created.stderr).toBe('');
    const arn = (JSON.parse(created.stdout) as { KeyMetadata: { Arn: string; KeyUsage: string } }).KeyMetadata.Arn;
    await writeFile(join(dir, 'message.bin'), MESSAGE);
    const signed = await awsKms(kms, dir, [
      'sign',
      '--key-id',
      arn,
      '--message',
      `fileb://${join(dir, 'message.bin')}`,
      '--message-type',
      'RAW',
      '--signing-algorithm',
      'ECDSA_SHA_256',
    ]);
    expect(signed.stderr).toBe('');
    const signature = Buffer.from((JSON.parse(signed.stdout) as { Signature: string }).Signature, 'base64');
    expect(
      (await client.send(new VerifyCommand({ KeyId: arn, Message: MESSAGE, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' })))
        .SignatureValid,
    ).toBe(true);

    const publicKey = await awsKms(kms, dir, ['get-public-key', '--key-id', arn]);
    const spki = Buffer.from((JSON.parse(publicKey.stdout) as { PublicKey: string }).PublicKey, 'base64');
    expect(verify('sha256', MESSAGE, createPublicKey({ key: spki, format: 'der', type: 'spki' }), signature)).toBe(true);

    const bySdk = await client.send(new SignCommand({ KeyId: arn, Message: MESSAGE, SigningAlgorithm: 'ECDSA_SHA_256' }));
    await writeFile(join(dir, 'sig.bin'), bySdk.Signature!);
    const verified = await awsKms(kms, dir, [
      'verify',
      '--key-id',
      arn,
      '--message',
      `fileb://${join(dir, 'message.bin')}`,
      '--signature',
      `fileb://${join(dir, 'sig.bin')}`,
      '--signing-algorithm',
      'ECDSA_SHA_256',
    ]);
    expect(verified.stderr).toBe('');
    expect((JSON.parse(verified.stdout) as { SignatureValid: boolean }).SignatureValid).toBe(true);

    await kms.disableKey(arn);
    const disabled = await awsKms(kms, dir, [
      'sign',
      '--key-id',
      arn,
      '--message',
      `fileb://${join(dir, 'message.bin')}`,
      '--signing-algorithm',
      'ECDSA_SHA_256',
    ]);
    expect(disabled.code).not.toBe(0);
    expect(disabled.stderr).toContain('DisabledException');
  });
});
