import { startKmsLocal, type KmsLocal } from '@ovseal/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KmsIdentity, KmsRecipient } from '../src/index.js';
import { localOptions, newContext, newDataKey, rejectionOf } from './helpers.js';

let kms: KmsLocal;
beforeAll(async () => {
  kms = await startKmsLocal();
});
afterAll(async () => {
  await kms.close();
});

function decrypts(): number {
  return kms.requests.filter((request) => request.operation === 'Decrypt').length;
}

async function sealed() {
  const key = await kms.createKey();
  const context = newContext();
  const dataKey = newDataKey();
  const stanzas = await new KmsRecipient(key.arn, localOptions(kms)).wrap(dataKey, context);
  return { key, context, dataKey, stanzas };
}

describe('the data-key cache (opt-in)', () => {
  it('is off by default: every unwrap calls Decrypt', async () => {
    const { key, context, stanzas } = await sealed();
    const identity = new KmsIdentity(key.arn, localOptions(kms));
    const before = decrypts();
    await identity.unwrap(stanzas, context);
    await identity.unwrap(stanzas, context);
    expect(decrypts() - before).toBe(2);
  });

  it('serves a key up to maxUses times, then asks KMS again', async () => {
    const { key, context, dataKey, stanzas } = await sealed();
    const cached = new KmsIdentity(key.arn, { ...localOptions(kms), cache: { maxUses: 3, ttlMs: 60_000 } });
    const before = decrypts();
    for (let i = 0; i < 3; i += 1) expect(await cached.unwrap(stanzas, context)).toEqual(dataKey);
    expect(decrypts() - before).toBe(1);
    expect(await cached.unwrap(stanzas, context)).toEqual(dataKey);
    expect(decrypts() - before).toBe(2);
  });

  it('expires entries after ttlMs', async () => {
    const { key, context, dataKey, stanzas } = await sealed();
    let now = 1_000_000;
    const cached = new KmsIdentity(key.arn, { ...localOptions(kms), cache: { ttlMs: 1_000, maxUses: 100, now: () => now } });
    const before = decrypts();
    await cached.unwrap(stanzas, context);
    now += 999;
    expect(await cached.unwrap(stanzas, context)).toEqual(dataKey);
    expect(decrypts() - before).toBe(1);
    now += 1;
    expect(await cached.unwrap(stanzas, context)).toEqual(dataKey);
    expect(decrypts() - before).toBe(2);
  });

  it('returns copies, keys entries by context, and can be cleared', async () => {
    const { key, context, dataKey, stanzas } = await sealed();
    const cached = new KmsIdentity(key.arn, { ...localOptions(kms), cache: { ttlMs: 60_000 } });
    const first = await cached.unwrap(stanzas, context);
    first!.fill(0); // the container wipes the keys it is given: the cache must not be affected
    expect(await cached.unwrap(stanzas, context)).toEqual(dataKey);

    // The same stanza under another container's context is never served from the cache.
    expect((await rejectionOf(cached.unwrap(stanzas, newContext()))).code).toBe('ERR_AUTHENTICATION_FAILED');

    const before = decrypts();
    cached.clearCache();
    await cached.unwrap(stanzas, context);
    expect(decrypts() - before).toBe(1);
  });

  it('keeps serving a cached key while KMS is failing (that is its point), within its limits', async () => {
    const { key, context, dataKey, stanzas } = await sealed();
    const cached = new KmsIdentity(key.arn, { ...localOptions(kms, { maxAttempts: 1 }), cache: { ttlMs: 60_000, maxUses: 2 } });
    await cached.unwrap(stanzas, context);
    kms.faults.inject({ kind: 'error', count: Infinity });
    try {
      expect(await cached.unwrap(stanzas, context)).toEqual(dataKey);
      expect((await rejectionOf(cached.unwrap(stanzas, context))).code).toBe('ERR_KMS_SERVICE_ERROR');
    } finally {
      kms.faults.clear();
    }
  });
});
