import { KMSClient } from '@aws-sdk/client-kms';
import { createWrapContext, type WrapContext } from '@ovseal/container';
import type { KmsLocal } from '@ovseal/kms-local';
import { randomBytes } from 'node:crypto';

import type { KmsClientOptions } from '../src/index.js';

/** Options that point key-kms at a kms-local server, with short, bounded retries and timeouts. */
export function localOptions(kms: KmsLocal, extra: Partial<KmsClientOptions> = {}): KmsClientOptions {
  return { endpoint: kms.endpoint, credentials: kms.credentials, region: kms.region, maxAttempts: 3, timeoutMs: 20_000, ...extra };
}

/** A caller-made SDK client, as an application would build it. */
export function sdkClient(kms: KmsLocal, region = kms.region, credentials = kms.credentials): KMSClient {
  return new KMSClient({
    endpoint: kms.endpoint,
    region,
    credentials,
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000, throwOnRequestTimeout: true },
  });
}

export function newContext(modelName = 'detector', modelVersion = '4'): WrapContext {
  return createWrapContext({ containerId: randomBytes(16), modelName, modelVersion });
}

export function newDataKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/** The rejection of a promise (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}
