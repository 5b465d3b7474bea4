import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
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
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/*
 * The AWS CLI (botocore, Python) as a second, independent client: its SigV4 signer, JSON protocol
 * and error parsing share no code with the JavaScript SDK. Debian: `apt-get install -y awscli`.
 */
export const AWS_CLI = process.env['OVSEAL_AWS_CLI'] ?? 'aws';
export const awsCliAvailable = spawnSync(AWS_CLI, ['--version'], { encoding: 'utf8' }).status === 0;
export const requireAll = process.env['OVSEAL_REQUIRE_ALL'] === '1';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `aws kms ARGS` against a kms-local server, with a clean environment rooted in `home`. */
export function awsKms(kms: KmsLocal, home: string, args: string[], secret = kms.credentials.secretAccessKey): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      AWS_CLI,
      ['--endpoint-url', kms.endpoint, '--region', kms.region, '--output', 'json', 'kms', ...args],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: home,
          AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: secret,
          AWS_CONFIG_FILE: join(home, 'none'),
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
          AWS_PAGER: '',
          AWS_MAX_ATTEMPTS: '1',
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
  });
}
