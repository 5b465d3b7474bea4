import { CreateKeyCommand, DecryptCommand, DisableKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startKmsLocal, type KmsLocal } from '../src/index.js';
import { clientFor, rejectionOf } from './helpers.js';

const ALICE = { accessKeyId: 'AKIDALICE', secretAccessKey: 'alice-secret' };
const BOB = { accessKeyId: 'AKIDBOB', secretAccessKey: 'bob-secret' };
const OTHER_ACCOUNT = { accessKeyId: 'AKIDCAROL', secretAccessKey: 'carol-secret', accountId: '444455556666' };

let kms: KmsLocal;
let alice: KMSClient;
let bob: KMSClient;
let carol: KMSClient;

beforeAll(async () => {
  kms = await startKmsLocal({ principals: [ALICE, BOB, OTHER_ACCOUNT] });
  alice = clientFor(kms, { credentials: ALICE });
  bob = clientFor(kms, { credentials: BOB });
  carol = clientFor(kms, { credentials: OTHER_ACCOUNT });
});
afterAll(async () => {
  for (const client of [alice, bob, carol]) client.destroy();
  await kms.close();
});

describe('per-key principals', () => {
  it('denies a principal the key does not allow (AccessDeniedException), for every use', async () => {
    const key = await kms.createKey({ allowedPrincipals: [ALICE.accessKeyId] });
    const { CiphertextBlob } = await alice.send(new EncryptCommand({ KeyId: key.arn, Plaintext: new Uint8Array([7]) }));

    const denied = await rejectionOf(bob.send(new DecryptCommand({ CiphertextBlob })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain(`user/${BOB.accessKeyId} is not authorized to perform: kms:Decrypt`);
    expect((await rejectionOf(bob.send(new EncryptCommand({ KeyId: key.arn, Plaintext: new Uint8Array([7]) })))).name).toBe(
      'AccessDeniedException',
    );
    expect((await rejectionOf(bob.send(new DisableKeyCommand({ KeyId: key.arn })))).name).toBe('AccessDeniedException');

    await kms.setAllowedPrincipals(key.arn, [ALICE.accessKeyId, BOB.accessKeyId]);
    await bob.send(new DecryptCommand({ CiphertextBlob }));
  });

  it('reads allowed principals from a CreateKey policy', async () => {
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: [BOB.accessKeyId] }, Action: 'kms:*', Resource: '*' }],
    };
    const { KeyMetadata } = await alice.send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }));
    expect((await rejectionOf(alice.send(new EncryptCommand({ KeyId: KeyMetadata!.Arn, Plaintext: new Uint8Array([1]) })))).name).toBe(
      'AccessDeniedException',
    );
    await bob.send(new EncryptCommand({ KeyId: KeyMetadata!.Arn, Plaintext: new Uint8Array([1]) }));
    expect((await rejectionOf(alice.send(new CreateKeyCommand({ Policy: '{not json' })))).name).toBe('MalformedPolicyDocumentException');
  });

  it('keeps accounts apart unless the key policy names the other account', async () => {
    const key = await kms.createKey();
    // By ARN, another account's key is found but not usable; by bare id it is not even visible.
    expect((await rejectionOf(carol.send(new EncryptCommand({ KeyId: key.arn, Plaintext: new Uint8Array([1]) })))).name).toBe(
      'AccessDeniedException',
    );
    expect((await rejectionOf(carol.send(new EncryptCommand({ KeyId: key.keyId, Plaintext: new Uint8Array([1]) })))).name).toBe(
      'NotFoundException',
    );
    await kms.setAllowedPrincipals(key.arn, [`arn:aws:iam::${OTHER_ACCOUNT.accountId}:root`]);
    const encrypted = await carol.send(new EncryptCommand({ KeyId: key.arn, Plaintext: new Uint8Array([1]) }));
    expect(encrypted.KeyId).toBe(key.arn);
  });
});
