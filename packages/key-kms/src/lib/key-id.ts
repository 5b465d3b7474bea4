import { InvalidArgumentError } from '@ovseal/container';

/** A parsed key ARN `arn:PARTITION:kms:REGION:ACCOUNT:key/ID`. */
export interface KeyArn {
  readonly arn: string;
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly keyId: string;
}

/** The forms KMS accepts to name a key. */
export type KmsKeyRef =
  | ({ readonly kind: 'key-arn' } & KeyArn)
  | { readonly kind: 'alias-arn'; readonly arn: string; readonly region: string; readonly accountId: string; readonly aliasName: string }
  | { readonly kind: 'alias-name'; readonly aliasName: string }
  | { readonly kind: 'key-id'; readonly keyId: string };

const ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/([A-Za-z0-9/_-]+)$/;
const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-fA-F-]{1,64})$/;
const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;

export function parseKeyArn(value: string): KeyArn | undefined {
  const match = ARN.exec(value);
  if (!match || match[4] !== 'key') return undefined;
  const [, partition = '', region = '', accountId = '', , keyId = ''] = match;
  return { arn: value, partition, region, accountId, keyId };
}

/** Parses a key id in any form KMS accepts; throws `ERR_INVALID_ARGUMENT` for anything else. */
export function parseKmsKeyId(value: string): KmsKeyRef {
  const match = ARN.exec(value);
  if (match) {
    const [, partition = '', region = '', accountId = '', resource, name = ''] = match;
    return resource === 'key'
      ? { kind: 'key-arn', arn: value, partition, region, accountId, keyId: name }
      : { kind: 'alias-arn', arn: value, region, accountId, aliasName: `alias/${name}` };
  }
  if (ALIAS.test(value)) return { kind: 'alias-name', aliasName: value };
  if (KEY_ID.test(value)) return { kind: 'key-id', keyId: value };
  throw new InvalidArgumentError(`not a KMS key id: ${JSON.stringify(value)}`, {
    hint: 'use a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), an alias (alias/NAME or its ARN) or a key id',
  });
}

/** The region a key reference names, if it names one (ARNs do). */
export function regionOf(ref: KmsKeyRef): string | undefined {
  return ref.kind === 'key-arn' || ref.kind === 'alias-arn' ? ref.region : undefined;
}
