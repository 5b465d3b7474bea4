import { InvalidArgumentError } from '@ovseal/container';

import { KmsRecipient } from './kms-recipient.js';
import { parseKmsUri } from './lib/parse-uri.js';
import type { KmsClientOptions } from './options.js';

/**
 * A recipient from a URI, as `ovseal seal --recipient` takes it:
 * `aws-kms:arn:aws:kms:REGION:ACCOUNT:key/ID`, `aws-kms:arn:aws:kms:REGION:ACCOUNT:alias/NAME`,
 * `aws-kms:alias/NAME[?region=R]` or `aws-kms:KEY_ID[?region=R]`.
 *
 * Without options the SDK defaults apply (credential chain, `AWS_REGION`, `AWS_ENDPOINT_URL_KMS`).
 *
 * @example
 * ```ts
 * const recipient = kmsRecipientFromUri('aws-kms:alias/models?region=eu-west-1');
 * const local = kmsRecipientFromUri(uri, { endpoint: 'http://127.0.0.1:4599', credentials });
 * ```
 */
export function kmsRecipientFromUri(uri: string, options: KmsClientOptions = {}): KmsRecipient {
  const parsed = parseKmsUri(uri);
  if (parsed.kind !== 'key') {
    throw new InvalidArgumentError(`${uri} is an identity URI: a recipient needs a key`, {
      hint: 'use aws-kms:arn:aws:kms:REGION:ACCOUNT:key/ID',
    });
  }
  return new KmsRecipient(parsed.keyId, parsed.region ? { ...options, region: parsed.region } : options);
}
