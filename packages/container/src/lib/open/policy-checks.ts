import type { KeyObject } from 'node:crypto';
import { ExpiredError, SignatureInvalidError, SignatureMissingError, SignatureUntrustedError } from '../../errors.js';
import { refuse } from '../format/reader-checks.js';
import { equalConstantTime } from '../crypto/derived-keys.js';
import type { ParsedHeader } from '../format/header-codec.js';
import { keyIdOf, signerKeyId, toPublicKey, verifyCore } from '../crypto/signature.js';

/** Publisher keys a reader trusts; a container must carry a valid signature by one of them. */
export interface TrustPolicy {
  /** SPKI PEM strings, SPKI DER bytes (AWS KMS `GetPublicKey`, a token's export), or KeyObjects. */
  readonly publicKeys: readonly (string | Uint8Array | KeyObject)[];
}

/**
 * Expiry (docs/FORMAT.md R-EXP-1): refused when `now` is past `notAfter`; the second `notAfter`
 * itself is still valid. Readers call it once the header is authenticated (after the MAC), so a
 * tampered `notAfter` is reported as tampering, not as expiry.
 */
export function checkNotExpired(header: ParsedHeader, now: Date): void {
  if (header.notAfter !== 0 && now.getTime() > header.notAfter * 1000)
    refuse('R-EXP-1', () => new ExpiredError(new Date(header.notAfter * 1000)));
}

/**
 * The signature stage (docs/FORMAT.md §9, step 5), before any key is used: a required signature
 * must be present; a present one must verify over the header core, whether or not trust is
 * required; under a trust policy its key must be trusted. The payload digest it covers is compared
 * after the payload was read ({@link checkPayloadDigest}).
 */
export function checkSignature(header: ParsedHeader, trust: TrustPolicy | undefined): void {
  const signature = header.signature;
  if (!signature) {
    if (trust) refuse('R-SIG-2', () => new SignatureMissingError());
    return;
  }
  if (!verifyCore(header.core, signature)) refuse('R-SIG-3', () => new SignatureInvalidError());
  if (!trust) return;
  const signerId = signerKeyId(signature);
  const trusted = trust.publicKeys.some((key) => keyIdOf(toPublicKey(key)) === signerId);
  if (!trusted) refuse('R-SIG-4', () => new SignatureUntrustedError(signerId));
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
    refuse('R-DIG-1', () => new SignatureInvalidError('the payload does not match the digest the publisher signed'));
  }
}
