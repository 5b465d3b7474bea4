import type { KeyObject } from 'node:crypto';
import { ExpiredError, SignatureInvalidError, SignatureMissingError, SignatureUntrustedError } from '../errors.js';
import { equalConstantTime } from './keys.js';
import type { ParsedHeader } from './header.js';
import { keyIdOf, publicKeyFromRaw, toPublicKey, verifyCore } from './signature.js';

/** Publisher keys a reader trusts; a container must carry a valid signature by one of them. */
export interface TrustPolicy {
  /** SPKI PEM strings, SPKI DER bytes (AWS KMS `GetPublicKey`, a token's export), or KeyObjects. */
  readonly publicKeys: readonly (string | Uint8Array | KeyObject)[];
}

export function checkNotExpired(header: ParsedHeader, now: Date): void {
  if (header.notAfter !== 0 && now.getTime() > header.notAfter * 1000) throw new ExpiredError(new Date(header.notAfter * 1000));
}

/**
 * Checks presence, validity and trust of the signature over the header core (without trust: a
 * present signature must still verify). The payload digest the signature covers is compared after
 * the payload was read ({@link checkPayloadDigest}).
 */
export function checkSignature(header: ParsedHeader, trust: TrustPolicy | undefined): void {
  if (!header.signature) throw new SignatureMissingError();
  if (!verifyCore(header.core, header.signature)) throw new SignatureInvalidError();
  if (!trust) return;
  const signerId = keyIdOf(publicKeyFromRaw(header.signature.algorithm, header.signature.publicKey));
  const trusted = trust.publicKeys.some((key) => keyIdOf(toPublicKey(key)) === signerId);
  if (!trusted) throw new SignatureUntrustedError(signerId);
}

/**
 * The checks before any key is used (cheap first, so no KMS or TPM call is made for a container
 * that would be refused): expiry, then a present signature (and trust, when required).
 */
export function checkBeforeUnlock(header: ParsedHeader, options: { readonly now?: Date | undefined; readonly trust?: TrustPolicy | undefined }): void {
  checkNotExpired(header, options.now ?? new Date());
  if (options.trust || header.signature) checkSignature(header, options.trust);
}

/**
 * Whether a reader of the whole payload compares the payload digest: always for a signed container
 * (a present signature is always verified, docs/FORMAT.md §6.3), and whenever trust is required.
 */
export function wholePayloadDigest(header: ParsedHeader, trust: TrustPolicy | undefined): boolean {
  return trust !== undefined || header.signature !== null;
}

export function checkPayloadDigest(header: ParsedHeader, digest: Uint8Array): void {
  if (!equalConstantTime(digest, header.payloadDigest)) {
    throw new SignatureInvalidError('the payload does not match the digest the publisher signed');
  }
}
