import { InvalidArgumentError } from '@ovseal/container';

import { KmsSigner } from './kms-signer.js';
import { parseKmsUri } from './lib/parse-uri.js';
import type { KmsClientOptions } from './options.js';

/**
 * A publisher signer from a URI, as `ovseal seal --sign` takes it: `aws-kms:arn:aws:kms:…:key/ID`,
 * `aws-kms:alias/NAME[?region=R]` or `aws-kms:KEY_ID[?region=R]`. Without options the SDK defaults
 * apply (credential chain, `AWS_REGION`, `AWS_ENDPOINT_URL_KMS`).
 *
 * @example
 * ```ts
 * const signer = await kmsSignerFromUri('aws-kms:alias/model-publisher?region=eu-west-1');
 * ```
 */
export async function kmsSignerFromUri(uri: string, options: KmsClientOptions = {}): Promise<KmsSigner> {
  const parsed = parseKmsUri(uri);
  if (parsed.kind !== 'key')
    throw new InvalidArgumentError(`${uri} does not name a key: a signer needs one`, {
      hint: 'use aws-kms:alias/NAME or aws-kms:arn:aws:kms:REGION:ACCOUNT:key/ID',
    });
  return KmsSigner.create(parsed.keyId, parsed.region ? { ...options, region: parsed.region } : options);
}
