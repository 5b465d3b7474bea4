import { AuthenticationFailedError, OvsealError } from '@ovseal/container';
import { startKmsLocal, type KmsLocal } from '@ovseal/kms-local';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { KmsError, KmsIdentity, KmsRecipient, type KmsErrorCode } from '../src/index.js';
import { localOptions, newContext, newDataKey, rejectionOf } from './helpers.js';

const OUTSIDER = { accessKeyId: 'AKIDOUTSIDER', secretAccessKey: 'outsider-secret' };

let kms: KmsLocal;
beforeAll(async () => {
  kms = await startKmsLocal();
  kms.addPrincipal(OUTSIDER);
});
afterEach(() => kms.faults.clear());
afterAll(async () => {
  await kms.close();
});

/** Seals a fresh data key under a new key; returns what an identity needs to try to open it. */
async function sealed(keyOptions: Parameters<KmsLocal['createKey']>[0] = {}) {
  const key = await kms.createKey(keyOptions);
  const context = newContext();
  const dataKey = newDataKey();
  const stanzas = await new KmsRecipient(key.arn, localOptions(kms)).wrap(dataKey, context);
  return { key, context, dataKey, stanzas };
}

function expectKmsError(error: Error & Record<string, unknown>, code: KmsErrorCode): void {
  expect(error).toBeInstanceOf(KmsError);
  expect(error).toBeInstanceOf(OvsealError);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(/^KMS (Encrypt|Decrypt|DescribeKey)/);
}

describe('typed errors from real SDK failures', () => {
  it('server down (connection refused): ERR_KMS_UNREACHABLE after the retries', async () => {
    const gone = await startKmsLocal();
    const { arn } = await gone.createKey();
    const endpoint = gone.endpoint;
    await gone.close();
    const error = await rejectionOf(
      new KmsRecipient(arn, { endpoint, region: gone.region, credentials: gone.credentials, maxAttempts: 2 }).wrap(
        newDataKey(),
        newContext(),
      ),
    );
    expectKmsError(error, 'ERR_KMS_UNREACHABLE');
    expect(error.kmsErrorName).toBe('ECONNREFUSED');
    expect(error.hint).toMatch(/AWS_ENDPOINT_URL_KMS/);
  });

  it('slow server: ERR_KMS_TIMEOUT from the per-attempt timeout', async () => {
    const { key, context, stanzas } = await sealed();
    kms.faults.inject({ kind: 'delay', ms: 60_000, count: 2 });
    const identity = new KmsIdentity(key.arn, localOptions(kms, { timeoutMs: 300, maxAttempts: 2 }));
    const error = await rejectionOf(identity.unwrap(stanzas, context));
    expectKmsError(error, 'ERR_KMS_TIMEOUT');
    expect(error.kmsErrorName).toBe('TimeoutError');
    // Both attempts reached the server (and were held there): the SDK retried the timeout once.
    expect(kms.faults.pending).toBe(0);
  });

  it('slow server: ERR_KMS_TIMEOUT from the overall deadline, retries included', async () => {
    const { key, context, stanzas } = await sealed();
    kms.faults.inject({ kind: 'delay', ms: 60_000, count: Infinity });
    const identity = new KmsIdentity(key.arn, localOptions(kms, { timeoutMs: 60_000, maxAttempts: 5, deadlineMs: 400 }));
    const error = await rejectionOf(identity.unwrap(stanzas, context));
    expectKmsError(error, 'ERR_KMS_TIMEOUT');
    expect(error.kmsErrorName).toBe('AbortError');
  });

  it('500s: the SDK retries, then ERR_KMS_SERVICE_ERROR; fewer 500s than attempts succeed', async () => {
    const { key, context, dataKey, stanzas } = await sealed();
    const identity = new KmsIdentity(key.arn, localOptions(kms, { maxAttempts: 3 }));
    kms.faults.inject({ kind: 'error', count: 2, operations: ['Decrypt'] });
    expect(await identity.unwrap(stanzas, context)).toEqual(dataKey);

    kms.faults.inject({ kind: 'error', count: Infinity, operations: ['Decrypt'] });
    const error = await rejectionOf(identity.unwrap(stanzas, context));
    expectKmsError(error, 'ERR_KMS_SERVICE_ERROR');
    expect(error.kmsErrorName).toBe('KMSInternalException');
    expect(error.httpStatusCode).toBe(500);
    expect(kms.requests.slice(-3).map((r) => r.status)).toEqual([500, 500, 500]);
  });

  it('throttling: ERR_KMS_THROTTLED', async () => {
    const { key, context, stanzas } = await sealed();
    kms.faults.inject({ kind: 'throttle', count: Infinity });
    const error = await rejectionOf(new KmsIdentity(key.arn, localOptions(kms, { maxAttempts: 2 })).unwrap(stanzas, context));
    expectKmsError(error, 'ERR_KMS_THROTTLED');
  });

  it('disabled key: ERR_KMS_KEY_DISABLED for unwrap and for wrap', async () => {
    const { key, context, stanzas } = await sealed();
    await kms.disableKey(key.arn);
    expectKmsError(await rejectionOf(new KmsIdentity(key.arn, localOptions(kms)).unwrap(stanzas, context)), 'ERR_KMS_KEY_DISABLED');
    expectKmsError(await rejectionOf(new KmsRecipient(key.arn, localOptions(kms)).wrap(newDataKey(), context)), 'ERR_KMS_KEY_DISABLED');
  });

  it('key pending deletion: ERR_KMS_KEY_INVALID_STATE', async () => {
    const { key, context, stanzas } = await sealed();
    await kms.scheduleKeyDeletion(key.arn, 7);
    const error = await rejectionOf(new KmsIdentity(key.arn, localOptions(kms)).unwrap(stanzas, context));
    expectKmsError(error, 'ERR_KMS_KEY_INVALID_STATE');
    expect(error.message).toMatch(/pending deletion/);
  });

  it("wrong context and altered stanza: the container's ERR_AUTHENTICATION_FAILED, KMS's refusal as its cause", async () => {
    const { key, context, stanzas } = await sealed();
    const identity = new KmsIdentity(key.arn, localOptions(kms));
    const body = Uint8Array.from(stanzas[0]!.body);
    body[body.length - 1]! ^= 0x80;
    for (const refused of [identity.unwrap(stanzas, newContext()), identity.unwrap([{ ...stanzas[0]!, body }], context)]) {
      const error = await rejectionOf(refused);
      expect(error).toBeInstanceOf(AuthenticationFailedError);
      expectKmsError(error.cause as Error & Record<string, unknown>, 'ERR_KMS_INVALID_CIPHERTEXT');
      expect((error.cause as KmsError).kmsErrorName).toBe('InvalidCiphertextException');
    }
  });

  it('a principal without access to the key: ERR_KMS_ACCESS_DENIED', async () => {
    const { key, context, stanzas } = await sealed({ allowedPrincipals: [kms.credentials.accessKeyId] });
    const outsider = new KmsIdentity(key.arn, localOptions(kms, { credentials: OUTSIDER }));
    const error = await rejectionOf(outsider.unwrap(stanzas, context));
    expectKmsError(error, 'ERR_KMS_ACCESS_DENIED');
    expect(error.kmsErrorName).toBe('AccessDeniedException');
  });

  it('unknown credentials or a wrong secret: ERR_KMS_ACCESS_DENIED', async () => {
    const { key, context, stanzas } = await sealed();
    for (const credentials of [
      { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' },
      { accessKeyId: kms.credentials.accessKeyId, secretAccessKey: 'wrong' },
    ]) {
      expectKmsError(
        await rejectionOf(new KmsIdentity(key.arn, localOptions(kms, { credentials, maxAttempts: 1 })).unwrap(stanzas, context)),
        'ERR_KMS_ACCESS_DENIED',
      );
    }
  });

  it('no such key or alias: ERR_KMS_KEY_NOT_FOUND', async () => {
    const missing = `arn:aws:kms:${kms.region}:${kms.accountId}:key/00000000-0000-0000-0000-000000000000`;
    expectKmsError(
      await rejectionOf(new KmsRecipient(missing, localOptions(kms)).wrap(newDataKey(), newContext())),
      'ERR_KMS_KEY_NOT_FOUND',
    );
    expectKmsError(
      await rejectionOf(new KmsRecipient('alias/none', localOptions(kms)).wrap(newDataKey(), newContext())),
      'ERR_KMS_KEY_NOT_FOUND',
    );
  });

  it('no region anywhere: ERR_KMS_CONFIG', async () => {
    const saved = { ...process.env };
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) delete process.env[name];
    process.env['AWS_CONFIG_FILE'] = '/nonexistent/ovseal-test-config';
    process.env['AWS_SHARED_CREDENTIALS_FILE'] = '/nonexistent/ovseal-test-credentials';
    try {
      const recipient = new KmsRecipient('alias/anything', { endpoint: kms.endpoint, credentials: kms.credentials });
      expectKmsError(await rejectionOf(recipient.wrap(newDataKey(), newContext())), 'ERR_KMS_CONFIG');
    } finally {
      process.env = saved;
    }
  });

  it('an invalid key id is an argument error, before any call', () => {
    expect(() => new KmsRecipient('not a key')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => new KmsIdentity([])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});
