/** The four ways a KMS request can name a key. */
export type KeyRef =
  | { readonly kind: 'key-id'; readonly keyId: string }
  | { readonly kind: 'key-arn'; readonly region: string; readonly accountId: string; readonly keyId: string }
  | { readonly kind: 'alias-name'; readonly aliasName: string }
  | { readonly kind: 'alias-arn'; readonly region: string; readonly accountId: string; readonly aliasName: string };

const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;
const KEY_ID = /^[A-Za-z0-9-]{1,128}$/;

export function parseKeyRef(value: string): KeyRef | undefined {
  const arn = ARN.exec(value);
  if (arn) {
    const [, region = '', accountId = '', resource, name = ''] = arn;
    return resource === 'key'
      ? { kind: 'key-arn', region, accountId, keyId: name }
      : { kind: 'alias-arn', region, accountId, aliasName: `alias/${name}` };
  }
  if (value.startsWith('alias/')) return { kind: 'alias-name', aliasName: value };
  if (KEY_ID.test(value)) return { kind: 'key-id', keyId: value };
  return undefined;
}

export function keyArn(region: string, accountId: string, keyId: string): string {
  return `arn:aws:kms:${region}:${accountId}:key/${keyId}`;
}

export function aliasArn(region: string, accountId: string, aliasName: string): string {
  return `arn:aws:kms:${region}:${accountId}:${aliasName}`;
}
