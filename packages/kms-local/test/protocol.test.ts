import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisabledException,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  KMSInvalidStateException,
  ListAliasesCommand,
  ListKeysCommand,
  NotFoundException,
  AlreadyExistsException,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startKmsLocal, type KmsLocal } from '../src/index.js';
import { clientFor, rejectionOf } from './helpers.js';

let kms: KmsLocal;
let client: KMSClient;

beforeAll(async () => {
  kms = await startKmsLocal();
  client = clientFor(kms);
});
afterAll(async () => {
  client.destroy();
  await kms.close();
});

async function newKey(description = 'test'): Promise<string> {
  const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: description }));
  return KeyMetadata!.Arn!;
}

describe('kms-local through @aws-sdk/client-kms', () => {
  it('creates, describes and lists keys with pagination', async () => {
    const created = await client.send(new CreateKeyCommand({ Description: 'listing' }));
    const meta = created.KeyMetadata!;
    expect(meta.Arn).toBe(`arn:aws:kms:${kms.region}:${kms.accountId}:key/${meta.KeyId}`);
    expect(meta).toMatchObject({
      KeyState: 'Enabled',
      Enabled: true,
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      Description: 'listing',
    });
    expect(meta.CreationDate).toBeInstanceOf(Date);

    const described = await client.send(new DescribeKeyCommand({ KeyId: meta.KeyId }));
    expect(described.KeyMetadata?.Arn).toBe(meta.Arn);

    for (let i = 0; i < 3; i += 1) await newKey(`page ${i}`);
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await client.send(new ListKeysCommand({ Limit: 2, ...(marker ? { Marker: marker } : {}) }));
      expect(page.Keys!.length).toBeLessThanOrEqual(2);
      seen.push(...page.Keys!.map((key) => key.KeyArn!));
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
    expect(seen).toContain(meta.Arn);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('creates and lists aliases, and resolves them for Encrypt and DescribeKey', async () => {
    const arn = await newKey();
    await client.send(new CreateAliasCommand({ AliasName: 'alias/protocol-test', TargetKeyId: arn }));
    const duplicate = await rejectionOf(client.send(new CreateAliasCommand({ AliasName: 'alias/protocol-test', TargetKeyId: arn })));
    expect(duplicate).toBeInstanceOf(AlreadyExistsException);

    const { Aliases } = await client.send(new ListAliasesCommand({ KeyId: arn }));
    expect(Aliases).toHaveLength(1);
    expect(Aliases![0]).toMatchObject({
      AliasName: 'alias/protocol-test',
      AliasArn: `arn:aws:kms:${kms.region}:${kms.accountId}:alias/protocol-test`,
    });

    const byAlias = await client.send(new DescribeKeyCommand({ KeyId: 'alias/protocol-test' }));
    expect(byAlias.KeyMetadata?.Arn).toBe(arn);
    const byAliasArn = await client.send(new DescribeKeyCommand({ KeyId: Aliases![0]!.AliasArn }));
    expect(byAliasArn.KeyMetadata?.Arn).toBe(arn);
    const encrypted = await client.send(new EncryptCommand({ KeyId: 'alias/protocol-test', Plaintext: new Uint8Array([1, 2, 3]) }));
    expect(encrypted.KeyId).toBe(arn);

    expect(await rejectionOf(client.send(new DescribeKeyCommand({ KeyId: 'alias/missing' })))).toBeInstanceOf(NotFoundException);
  });

  it('encrypts and decrypts, enforcing the encryption context', async () => {
    const arn = await newKey();
    const plaintext = randomBytes(32);
    const context = { 'ovseal:model': 'det', 'ovseal:version': '4' };
    const { CiphertextBlob, KeyId } = await client.send(
      new EncryptCommand({ KeyId: arn, Plaintext: plaintext, EncryptionContext: context }),
    );
    expect(KeyId).toBe(arn);

    const decrypted = await client.send(
      new DecryptCommand({ CiphertextBlob, EncryptionContext: { 'ovseal:version': '4', 'ovseal:model': 'det' } }),
    );
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(plaintext);
    expect(decrypted.KeyId).toBe(arn);

    const wrongContexts: Record<string, string>[] = [
      { 'ovseal:model': 'det', 'ovseal:version': '5' },
      { 'ovseal:model': 'det' },
      {},
      { ...context, extra: 'x' },
    ];
    for (const wrong of wrongContexts) {
      const error = await rejectionOf(client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: wrong })));
      expect(error).toBeInstanceOf(InvalidCiphertextException);
    }
    const flipped = Uint8Array.from(CiphertextBlob!);
    flipped[flipped.length - 20]! ^= 1;
    expect(await rejectionOf(client.send(new DecryptCommand({ CiphertextBlob: flipped, EncryptionContext: context })))).toBeInstanceOf(
      InvalidCiphertextException,
    );
  });

  it('treats every context key as data, "__proto__" included', async () => {
    const arn = await newKey();
    const context = JSON.parse('{"__proto__":"x","model":"m"}') as Record<string, string>;
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: arn, Plaintext: randomBytes(8), EncryptionContext: context }));
    expect(await rejectionOf(client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { model: 'm' } })))).toBeInstanceOf(
      InvalidCiphertextException,
    );
    await client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: context }));
  });

  it('answers IncorrectKeyException when Decrypt pins another key', async () => {
    const [first, second] = [await newKey(), await newKey()];
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: first, Plaintext: randomBytes(16) }));
    expect(await rejectionOf(client.send(new DecryptCommand({ CiphertextBlob, KeyId: second })))).toBeInstanceOf(IncorrectKeyException);
    const pinned = await client.send(new DecryptCommand({ CiphertextBlob, KeyId: first }));
    expect(pinned.KeyId).toBe(first);
  });

  it('re-encrypts from one key and context to another', async () => {
    const [source, destination] = [await newKey(), await newKey()];
    const plaintext = randomBytes(32);
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({ KeyId: source, Plaintext: plaintext, EncryptionContext: { a: '1' } }),
    );
    const re = await client.send(
      new ReEncryptCommand({
        CiphertextBlob,
        SourceEncryptionContext: { a: '1' },
        DestinationKeyId: destination,
        DestinationEncryptionContext: { b: '2' },
      }),
    );
    expect(re).toMatchObject({ SourceKeyId: source, KeyId: destination });
    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { b: '2' } }));
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(plaintext);
  });

  it('generates data keys with and without plaintext', async () => {
    const arn = await newKey();
    const generated = await client.send(new GenerateDataKeyCommand({ KeyId: arn, KeySpec: 'AES_256', EncryptionContext: { c: 'd' } }));
    expect(generated.Plaintext).toHaveLength(32);
    const decrypted = await client.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: { c: 'd' } }));
    expect(Buffer.from(decrypted.Plaintext!)).toEqual(Buffer.from(generated.Plaintext!));

    const withoutPlaintext = await client.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: arn, NumberOfBytes: 24 }));
    expect(withoutPlaintext).not.toHaveProperty('Plaintext');
    const later = await client.send(new DecryptCommand({ CiphertextBlob: withoutPlaintext.CiphertextBlob }));
    expect(later.Plaintext).toHaveLength(24);

    expect(await rejectionOf(client.send(new GenerateDataKeyCommand({ KeyId: arn })))).toHaveProperty('name', 'ValidationException');
  });

  it('disables and enables keys (DisabledException while disabled)', async () => {
    const arn = await newKey();
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: arn, Plaintext: randomBytes(8) }));
    await client.send(new DisableKeyCommand({ KeyId: arn }));
    expect((await client.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    expect(await rejectionOf(client.send(new EncryptCommand({ KeyId: arn, Plaintext: randomBytes(8) })))).toBeInstanceOf(DisabledException);
    expect(await rejectionOf(client.send(new DecryptCommand({ CiphertextBlob })))).toBeInstanceOf(DisabledException);
    await client.send(new EnableKeyCommand({ KeyId: arn }));
    await client.send(new DecryptCommand({ CiphertextBlob }));
  });

  it('rotates key material on demand; ciphertexts from before the rotation still decrypt', async () => {
    const arn = await newKey();
    const before = randomBytes(32);
    const old = await client.send(new EncryptCommand({ KeyId: arn, Plaintext: before, EncryptionContext: { v: '1' } }));
    await client.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
    await client.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
    expect(kms.describeKey(arn)?.materialVersions).toBe(3);
    const fresh = await client.send(new EncryptCommand({ KeyId: arn, Plaintext: before, EncryptionContext: { v: '1' } }));
    expect(Buffer.from(fresh.CiphertextBlob!).equals(Buffer.from(old.CiphertextBlob!))).toBe(false);
    for (const blob of [old.CiphertextBlob, fresh.CiphertextBlob]) {
      const { Plaintext } = await client.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { v: '1' } }));
      expect(Buffer.from(Plaintext!)).toEqual(before);
    }
  });

  it('keeps keys regional: a request signed for another region sees neither the key nor its ciphertexts', async () => {
    const arn = await newKey();
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: arn, Plaintext: randomBytes(8) }));
    const elsewhere = clientFor(kms, { region: 'eu-west-1' });
    try {
      expect(await rejectionOf(elsewhere.send(new EncryptCommand({ KeyId: arn, Plaintext: randomBytes(8) })))).toBeInstanceOf(
        NotFoundException,
      );
      expect(await rejectionOf(elsewhere.send(new DecryptCommand({ CiphertextBlob })))).toBeInstanceOf(InvalidCiphertextException);
      const { KeyMetadata } = await elsewhere.send(new CreateKeyCommand({}));
      expect(KeyMetadata?.Arn).toMatch(/^arn:aws:kms:eu-west-1:/);
      const listed = await elsewhere.send(new ListKeysCommand({}));
      expect(listed.Keys?.map((key) => key.KeyArn)).toEqual([KeyMetadata?.Arn]);
    } finally {
      elsewhere.destroy();
    }
  });

  it('validates input like KMS (empty plaintext, bad alias names)', async () => {
    const arn = await newKey();
    expect(await rejectionOf(client.send(new EncryptCommand({ KeyId: arn, Plaintext: new Uint8Array(0) })))).toHaveProperty(
      'name',
      'ValidationException',
    );
    const badAlias = await rejectionOf(client.send(new CreateAliasCommand({ AliasName: 'alias/aws/reserved', TargetKeyId: arn })));
    expect(badAlias.name).toBe('InvalidAliasNameException');
  });
});

describe('key deletion', () => {
  // A server with a movable clock, so the 7-day waiting period can pass at once. The SDK follows
  // the server's clock through its Date header (clock-skew correction), as it does with AWS.
  let clock = Date.now();
  let kms: KmsLocal;
  let client: KMSClient;
  beforeAll(async () => {
    kms = await startKmsLocal({ now: () => clock });
    client = clientFor(kms);
  });
  afterAll(async () => {
    client.destroy();
    await kms.close();
  });

  it('schedules deletion (KMSInvalidStateException), cancels it, and deletes once the window is over', async () => {
    const { KeyMetadata } = await client.send(new CreateKeyCommand({}));
    const arn = KeyMetadata!.Arn!;
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: arn, Plaintext: randomBytes(8) }));
    const scheduled = await client.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }));
    expect(scheduled).toMatchObject({ KeyId: arn, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(scheduled.DeletionDate!.getTime()).toBe(Math.round(clock + 7 * 86_400_000));
    expect(await rejectionOf(client.send(new DecryptCommand({ CiphertextBlob })))).toBeInstanceOf(KMSInvalidStateException);
    expect(await rejectionOf(client.send(new EnableKeyCommand({ KeyId: arn })))).toBeInstanceOf(KMSInvalidStateException);

    await client.send(new CancelKeyDeletionCommand({ KeyId: arn }));
    expect((await client.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState).toBe('Disabled');

    await client.send(new ScheduleKeyDeletionCommand({ KeyId: arn, PendingWindowInDays: 7 }));
    clock += 8 * 86_400_000;
    expect(await rejectionOf(client.send(new DescribeKeyCommand({ KeyId: arn })))).toBeInstanceOf(NotFoundException);
  });
});
