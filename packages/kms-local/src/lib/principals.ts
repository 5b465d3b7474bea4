import type { KeyRecord } from './key-store.js';

/** A caller kms-local knows: an access key pair that belongs to an account. */
export interface Principal {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, requests must carry it in `X-Amz-Security-Token` (temporary credentials). */
  readonly sessionToken?: string;
  readonly accountId: string;
}

/**
 * The key-policy check, reduced to principals: with no list, any principal of the key's account may
 * use the key; with a list, only the principals named there (access key id, account id,
 * `arn:aws:iam::ACCOUNT:root` for a whole account, or `*`).
 */
export function mayUseKey(key: KeyRecord, principal: Principal): boolean {
  if (key.allowedPrincipals === null) return principal.accountId === key.accountId;
  return key.allowedPrincipals.some(
    (allowed) =>
      allowed === '*' ||
      allowed === principal.accessKeyId ||
      allowed === principal.accountId ||
      allowed === `arn:aws:iam::${principal.accountId}:root`,
  );
}

/** How an error message names a principal (KMS names an IAM ARN; kms-local uses the access key id). */
export function principalArn(principal: Principal): string {
  return `arn:aws:iam::${principal.accountId}:user/${principal.accessKeyId}`;
}
