import { InvalidArgumentError } from '@ovseal/container';

import type { KmsDiscoveryFilter } from '../options.js';

export type ParsedKmsUri =
  | { readonly kind: 'key'; readonly keyId: string; readonly region?: string }
  | { readonly kind: 'discovery'; readonly filter: KmsDiscoveryFilter; readonly region?: string };

const SCHEME = 'aws-kms:';

/**
 * `aws-kms:KEY[?region=R]` where KEY is a key ARN, an alias ARN, `alias/NAME` or a key id, or
 * `aws-kms:discovery[?account=A,B&region=R1,R2]`.
 */
export function parseKmsUri(uri: string): ParsedKmsUri {
  if (!uri.startsWith(SCHEME)) throw invalid(uri, `it does not start with ${SCHEME}`);
  const rest = uri.slice(SCHEME.length);
  const question = rest.indexOf('?');
  const target = question < 0 ? rest : rest.slice(0, question);
  const query = new URLSearchParams(question < 0 ? '' : rest.slice(question + 1));
  for (const name of query.keys()) {
    if (name !== 'region' && !(target === 'discovery' && (name === 'account' || name === 'partition'))) {
      throw invalid(uri, `unknown parameter ${JSON.stringify(name)}`);
    }
  }
  if (target === '') throw invalid(uri, 'no key id');
  const regions = list(query.get('region'));
  if (target === 'discovery') {
    const accountIds = list(query.get('account'));
    if (accountIds?.some((account) => !/^\d{12}$/.test(account))) throw invalid(uri, 'an account id is 12 digits');
    const partition = query.get('partition');
    return {
      kind: 'discovery',
      filter: { ...(accountIds ? { accountIds } : {}), ...(regions ? { regions } : {}), ...(partition ? { partition } : {}) },
    };
  }
  if (target.startsWith('arn:') && regions) throw invalid(uri, 'an ARN names its own region');
  if (regions && regions.length > 1) throw invalid(uri, 'one region per key');
  return { kind: 'key', keyId: target, ...(regions?.[0] ? { region: regions[0] } : {}) };
}

function list(value: string | null): string[] | undefined {
  if (value === null) return undefined;
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return items.length === 0 ? undefined : items;
}

function invalid(uri: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid KMS URI ${JSON.stringify(uri)}: ${reason}`, {
    hint: 'use aws-kms:arn:aws:kms:REGION:ACCOUNT:key/ID, aws-kms:alias/NAME[?region=R] or aws-kms:discovery[?account=A&region=R]',
  });
}
