import { CreateKeyCommand, EncryptCommand, ListKeysCommand, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startKmsLocal, type KmsLocal } from '../src/index.js';
import { clientFor, rejectionOf } from './helpers.js';

let kms: KmsLocal;
let client: KMSClient;

beforeAll(async () => {
  kms = await startKmsLocal({
    principals: [
      { accessKeyId: 'AKIDSIGV4TEST', secretAccessKey: 'sigv4-test-secret' },
      { accessKeyId: 'ASIASESSIONTEST', secretAccessKey: 'session-secret', sessionToken: 'session-token-1' },
    ],
  });
  client = clientFor(kms);
});
afterAll(async () => {
  client.destroy();
  await kms.close();
});

describe('SigV4 verification', () => {
  it('accepts the SDK signature', async () => {
    const listed = await client.send(new ListKeysCommand({}));
    expect(listed.Keys).toEqual([]);
    expect(kms.requests.at(-1)).toMatchObject({ operation: 'ListKeys', accessKeyId: 'AKIDSIGV4TEST', region: kms.region, status: 200 });
  });

  it('rejects a signature made with the wrong secret', async () => {
    const wrong = clientFor(kms, { credentials: { accessKeyId: 'AKIDSIGV4TEST', secretAccessKey: 'not-the-secret' }, maxAttempts: 1 });
    const error = await rejectionOf(wrong.send(new ListKeysCommand({})));
    wrong.destroy();
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toMatch(/signature we calculated does not match/);
  });

  it('rejects an unknown access key id', async () => {
    const unknown = clientFor(kms, { credentials: { accessKeyId: 'AKIDNOBODY', secretAccessKey: 'sigv4-test-secret' }, maxAttempts: 1 });
    const error = await rejectionOf(unknown.send(new ListKeysCommand({})));
    unknown.destroy();
    expect(error.name).toBe('UnrecognizedClientException');
  });

  it('rejects a body changed after signing', async () => {
    const tampering = clientFor(kms, { maxAttempts: 1 });
    tampering.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body?: string };
        request.body = String(request.body).replace('"Description":"a"', '"Description":"b"');
        return next(args);
      },
      // The deserialize step runs after signing (finalizeRequest): the request is already signed.
      { step: 'deserialize', name: 'tamperAfterSigning' },
    );
    const error = await rejectionOf(tampering.send(new CreateKeyCommand({ Description: 'a' })));
    tampering.destroy();
    expect(error.name).toBe('InvalidSignatureException');
  });

  it('rejects a request signed by a skewed clock (either way), and the SDK corrects its clock from the Date header', async () => {
    for (const [offset, message] of [
      [-15 * 60 * 1000, /^Signature expired: /],
      [15 * 60 * 1000, /^Signature not yet current: /],
    ] as const) {
      const skewed = clientFor(kms, { systemClockOffset: offset, maxAttempts: 1 });
      const error = await rejectionOf(skewed.send(new ListKeysCommand({})));
      expect(error.name).toBe('InvalidSignatureException');
      expect(error.message).toMatch(message);
      // The SDK has learned the server's time from the answer: its next call is signed correctly.
      await skewed.send(new ListKeysCommand({}));
      skewed.destroy();
    }

    // With retries, the SDK treats "Signature expired" as transient and succeeds on its second try.
    const late = clientFor(kms, { systemClockOffset: -15 * 60 * 1000, maxAttempts: 2 });
    const listed = await late.send(new ListKeysCommand({}));
    late.destroy();
    expect(listed.$metadata.attempts).toBe(2);
    const [first, second] = kms.requests.slice(-2);
    expect(first).toMatchObject({ errorType: 'InvalidSignatureException', status: 400 });
    expect(second).toMatchObject({ status: 200 });
  });

  it('rejects requests with no signature', async () => {
    const response = await fetch(kms.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });

  it('checks the session token of temporary credentials', async () => {
    const good = clientFor(kms, {
      credentials: { accessKeyId: 'ASIASESSIONTEST', secretAccessKey: 'session-secret', sessionToken: 'session-token-1' },
    });
    const { KeyMetadata } = await good.send(
      new CreateKeyCommand({ Policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: '*' } }] }) }),
    );
    await good.send(new EncryptCommand({ KeyId: KeyMetadata!.Arn, Plaintext: new Uint8Array([1]) }));
    good.destroy();

    const stale = clientFor(kms, {
      credentials: { accessKeyId: 'ASIASESSIONTEST', secretAccessKey: 'session-secret', sessionToken: 'session-token-0' },
      maxAttempts: 1,
    });
    const error = await rejectionOf(stale.send(new ListKeysCommand({})));
    stale.destroy();
    expect(error.name).toBe('UnrecognizedClientException');
  });
});
