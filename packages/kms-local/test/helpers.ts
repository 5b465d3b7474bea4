import { KMSClient } from '@aws-sdk/client-kms';

import type { KmsLocal } from '../src/index.js';

/** A real SDK client pointed at a kms-local server, with timeouts so no test can hang. */
export function clientFor(
  kms: KmsLocal,
  overrides: {
    region?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    maxAttempts?: number;
    requestTimeout?: number;
    systemClockOffset?: number;
  } = {},
): KMSClient {
  return new KMSClient({
    endpoint: kms.endpoint,
    region: overrides.region ?? kms.region,
    credentials: overrides.credentials ?? kms.credentials,
    maxAttempts: overrides.maxAttempts ?? 3,
    ...(overrides.systemClockOffset === undefined ? {} : { systemClockOffset: overrides.systemClockOffset }),
    requestHandler: { connectionTimeout: 5_000, requestTimeout: overrides.requestTimeout ?? 20_000, throwOnRequestTimeout: true },
  });
}

/** The rejection of a promise (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
