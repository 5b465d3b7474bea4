import { KmsDiscoveryIdentity } from './kms-discovery-identity.js';
import { KmsIdentity } from './kms-identity.js';
import { parseKmsUri } from './lib/parse-uri.js';
import type { KmsIdentityOptions } from './options.js';

/**
 * An identity from a URI, as `ovseal open -i` takes it: the recipient forms
 * (`aws-kms:arn:…:key/ID`, `aws-kms:alias/NAME[?region=R]`, …), or discovery mode with a filter,
 * `aws-kms:discovery?account=111122223333,444455556666&region=eu-west-1,us-east-1`.
 *
 * @example
 * ```ts
 * const identity = kmsIdentityFromUri('aws-kms:arn:aws:kms:eu-west-1:111122223333:key/1234abcd-…');
 * const fleet = kmsIdentityFromUri('aws-kms:discovery?account=111122223333', { cache: { ttlMs: 60_000 } });
 * ```
 */
export function kmsIdentityFromUri(uri: string, options: KmsIdentityOptions = {}): KmsIdentity | KmsDiscoveryIdentity {
  const parsed = parseKmsUri(uri);
  if (parsed.kind === 'discovery') return new KmsDiscoveryIdentity(parsed.filter, options);
  return new KmsIdentity(parsed.keyId, parsed.region ? { ...options, region: parsed.region } : options);
}
