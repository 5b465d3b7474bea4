/**
 * Publisher signatures made in KMS (kms-local): the public key from GetPublicKey is what verifiers
 * trust, no decryption key is needed to verify, the signature survives rewrap, and a disabled or
 * unsuitable key is a typed error with nothing written.
 */
import { GetPublicKeyCommand } from '@aws-sdk/client-kms';
import { inspect, rewrap, seal, verify } from '@ovseal/container';
import { startKmsLocal, type KmsLocal } from '@ovseal/kms-local';
import { verify as verifySignature } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KmsError, KmsIdentity, KmsRecipient, KmsSigner, kmsSignerFromUri } from '../src/index.js';
import { localOptions, rejectionOf, sdkClient } from './helpers.js';

const entries = () => [{ name: 'model.onnx', role: 'onnx' as const, data: Buffer.alloc(50_000, 5) }];
const metadata = { name: 'kms-signed', version: '1' };

let kms: KmsLocal;
let dir: string;
beforeAll(async () => {
  kms = await startKmsLocal();
  dir = await mkdtemp(join(tmpdir(), 'key-kms-signer-'));
});
afterAll(async () => {
  await kms.close();
  await rm(dir, { recursive: true, force: true });
});

describe('KmsSigner against kms-local', () => {
  it('signs a container; verify trusts the GetPublicKey DER and needs no key; the signature survives rewrap', async () => {
    const signingKey = await kms.createKey({ keySpec: 'ECC_NIST_P256', alias: 'alias/publisher' });
    const wrapping = await kms.createKey();
    const signer = await kmsSignerFromUri('aws-kms:alias/publisher', localOptions(kms));
    expect(signer.keyArn).toBe(signingKey.arn);
    const recipient = new KmsRecipient(wrapping.arn, localOptions(kms));
    const output = join(dir, 'signed.ovseal');
    const info = await seal({ output, entries: entries(), metadata, recipients: [recipient], signer });
    expect(kms.requests.filter((r) => r.operation === 'Sign')).toHaveLength(1);

    const client = sdkClient(kms);
    const exported = (await client.send(new GetPublicKeyCommand({ KeyId: 'alias/publisher' }))).PublicKey!;
    client.destroy();
    const result = await verify(output, { trust: { publicKeys: [exported] } });
    expect(result.signature).toMatchObject({ algorithm: 'ecdsa-p256', keyId: info.signature!.keyId });

    const second = await kms.createKey();
    await rewrap(output, {
      identities: [new KmsIdentity(wrapping.arn, localOptions(kms))],
      add: [new KmsRecipient(second.arn, localOptions(kms))],
    });
    expect((await inspect(output)).recipients).toHaveLength(2);
    expect((await verify(output, { trust: { publicKeys: [exported] } })).signature?.keyId).toBe(info.signature!.keyId);
    await signer.close();
    await recipient.close();
  });

  it('returns r ‖ s that OpenSSL verifies; a message over 4096 bytes goes as its digest', async () => {
    const key = await kms.createKey({ keySpec: 'ECC_NIST_P256' });
    const signer = await KmsSigner.create(key.arn, localOptions(kms));
    for (let i = 0; i < 10; i++) {
      const message = Buffer.from(`message ${i}`);
      const signature = await signer.sign(message);
      expect(signature).toHaveLength(64);
      expect(verifySignature('sha256', message, { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    }
    // kms-local cannot sign a digest (AWS KMS can): the refusal shows the DIGEST request was made.
    const error = await rejectionOf(signer.sign(Buffer.alloc(5000)));
    expect(error).toBeInstanceOf(KmsError);
    expect(error['kmsErrorName']).toBe('UnsupportedOperationException');
    expect(String(error.message)).toContain('DIGEST');
    await signer.close();
  });

  it('a disabled key, a symmetric key, a missing key: typed errors; a key disabled mid-seal leaves no output', async () => {
    const key = await kms.createKey({ keySpec: 'ECC_NIST_P256' });
    const signer = await KmsSigner.create(key.arn, localOptions(kms, { maxAttempts: 1 }));
    await kms.disableKey(key.arn);
    expect((await rejectionOf(KmsSigner.create(key.arn, localOptions(kms)))).code).toBe('ERR_KMS_KEY_DISABLED');
    const symmetric = await kms.createKey();
    expect((await rejectionOf(KmsSigner.create(symmetric.arn, localOptions(kms)))).code).toBe('ERR_KMS_KEY_UNSUITABLE');
    expect((await rejectionOf(KmsSigner.create('alias/absent', localOptions(kms)))).code).toBe('ERR_KMS_KEY_NOT_FOUND');

    const out = join(dir, 'disabled');
    await import('node:fs/promises').then((fs) => fs.mkdir(out));
    const recipient = new KmsRecipient(symmetric.arn, localOptions(kms));
    const failure = await rejectionOf(
      seal({ output: join(out, 'm.ovseal'), entries: entries(), metadata, recipients: [recipient], signer }),
    );
    expect(failure).toBeInstanceOf(KmsError);
    expect(failure.code).toBe('ERR_KMS_KEY_DISABLED');
    expect(await readdir(out)).toEqual([]);
    await signer.close();
    await recipient.close();
  });
});
