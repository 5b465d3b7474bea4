import { DecryptCommand, EncryptCommand, ListKeysCommand, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startKmsLocal, type KmsLocal } from '../src/index.js';
import { clientFor, rejectionOf } from './helpers.js';

let kms: KmsLocal;
let client: KMSClient;
let keyArn: string;

beforeAll(async () => {
  kms = await startKmsLocal({ adminApi: true });
  client = clientFor(kms, { maxAttempts: 3 });
  keyArn = (await kms.createKey()).arn;
});
afterEach(() => kms.faults.clear());
afterAll(async () => {
  client.destroy();
  await kms.close();
});

function lastRequests(count: number) {
  return kms.requests.slice(-count);
}

describe('fault injection', () => {
  it('500s: the SDK retries and succeeds once the faults are used up', async () => {
    kms.faults.inject({ kind: 'error', count: 2 });
    const listed = await client.send(new ListKeysCommand({}));
    expect(listed.$metadata.attempts).toBe(3);
    expect(lastRequests(3).map((r) => r.status)).toEqual([500, 500, 200]);
    expect(kms.faults.pending).toBe(0);
  });

  it('500s: after maxAttempts the SDK raises KMSInternalException', async () => {
    kms.faults.inject({ kind: 'error', count: Infinity });
    const error = await rejectionOf(client.send(new ListKeysCommand({})));
    expect(error.name).toBe('KMSInternalException');
    expect(error.$metadata?.attempts).toBe(3);
    expect(lastRequests(3).every((r) => r.status === 500 && r.fault === 'error')).toBe(true);
  });

  it('throttling: ThrottlingException is retried, then raised', async () => {
    kms.faults.inject({ kind: 'throttle', count: 1 });
    expect((await client.send(new ListKeysCommand({}))).$metadata.attempts).toBe(2);
    kms.faults.inject({ kind: 'throttle', count: Infinity });
    const throttled = clientFor(kms, { maxAttempts: 2 });
    const error = await rejectionOf(throttled.send(new ListKeysCommand({})));
    throttled.destroy();
    expect(error.name).toBe('ThrottlingException');
  });

  it('delay: a client with a request timeout gives up (TimeoutError)', async () => {
    kms.faults.inject({ kind: 'delay', ms: 60_000, count: Infinity });
    const impatient = clientFor(kms, { maxAttempts: 1, requestTimeout: 300 });
    const error = await rejectionOf(impatient.send(new ListKeysCommand({})));
    impatient.destroy();
    expect(error.name).toBe('TimeoutError');
  });

  it('reset: the connection closes without an answer; the SDK retries', async () => {
    kms.faults.inject({ kind: 'reset', count: 1 });
    const listed = await client.send(new ListKeysCommand({}));
    expect(listed.$metadata.attempts).toBe(2);
    const once = clientFor(kms, { maxAttempts: 1 });
    kms.faults.inject({ kind: 'reset', count: 1 });
    const error = await rejectionOf(once.send(new ListKeysCommand({})));
    once.destroy();
    expect((error as { code?: string }).code).toBe('ECONNRESET');
  });

  it('applies a fault to the named operations only', async () => {
    kms.faults.inject({ kind: 'error', status: 400, errorType: 'KeyUnavailableException', operations: ['Decrypt'], count: Infinity });
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: keyArn, Plaintext: new Uint8Array([1]) }));
    const error = await rejectionOf(client.send(new DecryptCommand({ CiphertextBlob })));
    expect(error.name).toBe('KeyUnavailableException');
  });

  it('admin routes inject faults over HTTP when enabled, and are absent otherwise', async () => {
    const injected = await fetch(`${kms.endpoint}/__kms-local/faults`, {
      method: 'POST',
      body: JSON.stringify({ kind: 'error', count: 'Infinity' }),
    });
    expect(injected.status).toBe(200);
    expect((await rejectionOf(client.send(new ListKeysCommand({})))).name).toBe('KMSInternalException');
    expect((await fetch(`${kms.endpoint}/__kms-local/faults`, { method: 'DELETE' })).status).toBe(200);
    await client.send(new ListKeysCommand({}));
    const log = (await (await fetch(`${kms.endpoint}/__kms-local/requests`)).json()) as unknown[];
    expect(log.length).toBeGreaterThan(0);

    const plain = await startKmsLocal();
    try {
      expect((await fetch(`${plain.endpoint}/__kms-local/faults`, { method: 'POST', body: '{"kind":"error"}' })).status).toBe(404);
      expect(plain.faults.pending).toBe(0);
    } finally {
      await plain.close();
    }
  });
});
