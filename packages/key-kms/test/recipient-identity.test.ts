import { startKmsLocal, type KmsLocal } from '@ovseal/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KMS_STANZA_TYPE, KmsDiscoveryIdentity, KmsError, KmsIdentity, KmsRecipient } from '../src/index.js';
import { localOptions, newContext, newDataKey, rejectionOf, sdkClient } from './helpers.js';

const OTHER_ACCOUNT = { accessKeyId: 'AKIDOTHERACCOUNT', secretAccessKey: 'other-secret', accountId: '444455556666' };

let kms: KmsLocal;
beforeAll(async () => {
  kms = await startKmsLocal();
  kms.addPrincipal(OTHER_ACCOUNT);
});
afterAll(async () => {
  await kms.close();
});

function decryptCount(): number {
  return kms.requests.filter((request) => request.operation === 'Decrypt').length;
}

describe('KmsRecipient and KmsIdentity against kms-local', () => {
  it('wraps with Encrypt into an aws-kms stanza and unwraps it with Decrypt', async () => {
    const key = await kms.createKey();
    const context = newContext();
    const dataKey = newDataKey();
    const stanzas = await new KmsRecipient(key.arn, localOptions(kms)).wrap(dataKey, context);
    expect(stanzas).toHaveLength(1);
    expect(stanzas[0]).toMatchObject({ type: KMS_STANZA_TYPE, args: [key.arn] });

    const identity = new KmsIdentity(key.arn, localOptions(kms));
    expect(await identity.unwrap(stanzas, context)).toEqual(dataKey);
  });

  it('binds the wrap to the container: another container id, name or version is refused', async () => {
    const key = await kms.createKey();
    const context = newContext('detector', '4');
    const stanzas = await new KmsRecipient(key.arn, localOptions(kms)).wrap(newDataKey(), context);
    const identity = new KmsIdentity(key.arn, localOptions(kms));
    for (const other of [newContext('detector', '4'), newContext('other', '4'), newContext('detector', '5')]) {
      const error = await rejectionOf(identity.unwrap(stanzas, other));
      expect(error.code).toBe('ERR_AUTHENTICATION_FAILED');
      expect(error.cause).toBeInstanceOf(KmsError);
    }
  });

  it('accepts alias and bare key id forms, and records the key ARN KMS reports', async () => {
    const key = await kms.createKey({ alias: 'alias/ri-models' });
    const context = newContext();
    const dataKey = newDataKey();
    const byAlias = await new KmsRecipient('alias/ri-models', localOptions(kms)).wrap(dataKey, context);
    const byAliasArn = await new KmsRecipient(`arn:aws:kms:${kms.region}:${kms.accountId}:alias/ri-models`, localOptions(kms)).wrap(
      dataKey,
      context,
    );
    const byId = await new KmsRecipient(key.keyId, localOptions(kms)).wrap(dataKey, context);
    for (const stanzas of [byAlias, byAliasArn, byId]) expect(stanzas[0]?.args).toEqual([key.arn]);

    for (const configured of ['alias/ri-models', key.keyId, `arn:aws:kms:${kms.region}:${kms.accountId}:alias/ri-models`]) {
      expect(await new KmsIdentity(configured, localOptions(kms)).unwrap(byAlias, context)).toEqual(dataKey);
    }
  });

  it('returns null, without calling KMS, for stanzas that are not its own', async () => {
    const [mine, theirs] = [await kms.createKey(), await kms.createKey()];
    const context = newContext();
    const stanzas = [
      { type: 'file', args: ['abc'], body: new Uint8Array(48) },
      { type: KMS_STANZA_TYPE, args: ['not-an-arn'], body: new Uint8Array(10) },
      { type: KMS_STANZA_TYPE, args: [], body: new Uint8Array(10) },
      ...(await new KmsRecipient(theirs.arn, localOptions(kms)).wrap(newDataKey(), context)),
    ];
    const before = kms.requests.length;
    expect(await new KmsIdentity(mine.arn, localOptions(kms)).unwrap(stanzas, context)).toBeNull();
    expect(await new KmsIdentity(mine.keyId, localOptions(kms)).unwrap(stanzas, context)).toBeNull();
    expect(kms.requests.length).toBe(before);
  });

  it('an alias that points to another key is not a match (one DescribeKey, then null)', async () => {
    await kms.createKey({ alias: 'alias/ri-elsewhere' });
    const other = await kms.createKey();
    const context = newContext();
    const stanzas = await new KmsRecipient(other.arn, localOptions(kms)).wrap(newDataKey(), context);
    const identity = new KmsIdentity('alias/ri-elsewhere', localOptions(kms));
    expect(await identity.unwrap(stanzas, context)).toBeNull();
    expect(await new KmsIdentity('alias/ri-no-such-alias', localOptions(kms)).unwrap(stanzas, context)).toBeNull();
  });

  it("pins KeyId: a stanza that names one key but holds another key's ciphertext is refused by KMS", async () => {
    const [named, actual] = [await kms.createKey(), await kms.createKey()];
    const context = newContext();
    const [real] = await new KmsRecipient(actual.arn, localOptions(kms)).wrap(newDataKey(), context);
    const forged = { type: KMS_STANZA_TYPE, args: [named.arn], body: real!.body };
    const error = await rejectionOf(new KmsIdentity(named.arn, localOptions(kms)).unwrap([forged], context));
    expect(error.code).toBe('ERR_AUTHENTICATION_FAILED');
    expect((error.cause as KmsError).kmsErrorName).toBe('IncorrectKeyException');
  });

  it('wraps under keys in two regions; the region comes from each ARN; one region failing leaves the other', async () => {
    const east = await kms.createKey({ region: 'us-east-1' });
    const west = await kms.createKey({ region: 'eu-west-1' });
    const context = newContext();
    const dataKey = newDataKey();
    // No region option: each client's region is taken from the key ARN.
    const options = localOptions(kms, { region: undefined });
    const stanzas = [
      ...(await new KmsRecipient(east.arn, options).wrap(dataKey, context)),
      ...(await new KmsRecipient(west.arn, options).wrap(dataKey, context)),
    ];
    expect(stanzas.map((s) => s.args[0])).toEqual([east.arn, west.arn]);
    expect(
      kms.requests
        .filter((r) => r.operation === 'Encrypt')
        .slice(-2)
        .map((r) => r.region),
    ).toEqual(['us-east-1', 'eu-west-1']);

    const both = new KmsIdentity([east.arn, west.arn], options);
    // Keys are tried in the order of their ARNs (not of the stanzas): eu-west-1 first.
    await kms.disableKey(west.arn);
    expect(await both.unwrap([...stanzas].reverse(), context)).toEqual(dataKey);
    expect(
      kms.requests
        .filter((r) => r.operation === 'Decrypt')
        .slice(-2)
        .map((r) => [r.region, r.status]),
    ).toEqual([
      ['eu-west-1', 400],
      ['us-east-1', 200],
    ]);
    await kms.disableKey(east.arn);
    // Both of its stanzas fail: the first error is thrown.
    expect((await rejectionOf(both.unwrap(stanzas, context))).code).toBe('ERR_KMS_KEY_DISABLED');
  });

  it("uses a caller's KMSClient, or a per-region client function", async () => {
    const key = await kms.createKey();
    const client = sdkClient(kms);
    const context = newContext();
    const dataKey = newDataKey();
    const stanzas = await new KmsRecipient(key.arn, { client }).wrap(dataKey, context);
    expect(await new KmsIdentity(key.arn, { client }).unwrap(stanzas, context)).toEqual(dataKey);

    const regions: (string | undefined)[] = [];
    const perRegion = (region: string | undefined) => {
      regions.push(region);
      return client;
    };
    expect(await new KmsIdentity(key.arn, { client: perRegion }).unwrap(stanzas, context)).toEqual(dataKey);
    expect(regions).toEqual([kms.region]);
    client.destroy();
  });

  it('describes() recognises the stanzas of its key', async () => {
    const key = await kms.createKey({ alias: 'alias/ri-describes' });
    const other = await kms.createKey();
    const context = newContext();
    const [stanza] = await new KmsRecipient(key.arn, localOptions(kms)).wrap(newDataKey(), context);
    const [otherStanza] = await new KmsRecipient(other.arn, localOptions(kms)).wrap(newDataKey(), context);
    expect(new KmsRecipient(key.arn).describes(stanza!)).toBe(true);
    expect(new KmsRecipient(key.keyId).describes(stanza!)).toBe(true);
    expect(new KmsRecipient(key.arn).describes(otherStanza!)).toBe(false);
    const alias = new KmsRecipient('alias/ri-describes', localOptions(kms));
    expect(alias.describes(stanza!)).toBe(false); // unknown until it has wrapped
    await alias.wrap(newDataKey(), context);
    expect(alias.describes(stanza!)).toBe(true);
  });
});

describe('KmsDiscoveryIdentity', () => {
  it('unwraps under any key within the account and region filter, and ignores the rest without a call', async () => {
    const key = await kms.createKey({ region: 'eu-west-1' });
    const context = newContext();
    const dataKey = newDataKey();
    const stanzas = await new KmsRecipient(key.arn, localOptions(kms, { region: undefined })).wrap(dataKey, context);
    const options = localOptions(kms, { region: undefined });

    expect(
      await new KmsDiscoveryIdentity({ accountIds: [kms.accountId], regions: ['eu-west-1'] }, options).unwrap(stanzas, context),
    ).toEqual(dataKey);
    expect(await new KmsDiscoveryIdentity({}, options).unwrap(stanzas, context)).toEqual(dataKey);

    const before = decryptCount();
    expect(await new KmsDiscoveryIdentity({ accountIds: ['999999999999'] }, options).unwrap(stanzas, context)).toBeNull();
    expect(await new KmsDiscoveryIdentity({ regions: ['us-east-1'] }, options).unwrap(stanzas, context)).toBeNull();
    expect(await new KmsDiscoveryIdentity({ partition: 'aws-cn' }, options).unwrap(stanzas, context)).toBeNull();
    expect(decryptCount()).toBe(before);
  });

  it("opens stanzas of another account when that account's key policy allows the caller", async () => {
    const foreign = await kms.createKey({
      accountId: OTHER_ACCOUNT.accountId,
      allowedPrincipals: [kms.credentials.accessKeyId, OTHER_ACCOUNT.accessKeyId],
    });
    const context = newContext();
    const dataKey = newDataKey();
    const stanzas = await new KmsRecipient(foreign.arn, localOptions(kms, { credentials: OTHER_ACCOUNT })).wrap(dataKey, context);
    const discovery = new KmsDiscoveryIdentity({ accountIds: [OTHER_ACCOUNT.accountId] }, localOptions(kms));
    expect(await discovery.unwrap(stanzas, context)).toEqual(dataKey);

    await kms.setAllowedPrincipals(foreign.arn, [OTHER_ACCOUNT.accessKeyId]);
    expect((await rejectionOf(discovery.unwrap(stanzas, context))).code).toBe('ERR_KMS_ACCESS_DENIED');
  });
});

describe('one attempt per key (issue 10 item 11)', () => {
  /** 63 stanzas naming one key, with bodies anyone can forge (no key needed). */
  function forged(arn: string) {
    return Array.from({ length: 63 }, (_, i) => ({ type: KMS_STANZA_TYPE, args: [arn], body: new Uint8Array(200).fill(i) }));
  }

  it('63 stanzas for one key ARN cost no Decrypt call: a typed error, whether the identity pins the key or discovers it', async () => {
    const key = await kms.createKey();
    const context = newContext();
    const before = decryptCount();
    for (const identity of [
      new KmsIdentity(key.arn, localOptions(kms)),
      new KmsIdentity(key.keyId, localOptions(kms)),
      new KmsDiscoveryIdentity({}, localOptions(kms)),
    ]) {
      const error = await rejectionOf(identity.unwrap(forged(key.arn), context));
      expect(error.code).toBe('ERR_MALFORMED_HEADER');
      expect(error.message).toMatch(/63 recipient stanzas .*same key/);
    }
    expect(decryptCount()).toBe(before);
  });

  it('duplicates of a key that is not ours do not concern us: null, no call', async () => {
    const key = await kms.createKey();
    const other = await kms.createKey();
    const before = decryptCount();
    expect(await new KmsIdentity(key.arn, localOptions(kms)).unwrap(forged(other.arn), newContext())).toBeNull();
    expect(decryptCount()).toBe(before);
  });
});
