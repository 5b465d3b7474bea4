/**
 * The two stanza types of this package (docs/FORMAT.md §5.3), as pure functions so that the test
 * vectors can be made and checked without a token.
 *
 * bound = dataKey (32) ‖ SHA-256("ovseal/v1 pkcs11 bind\n" ‖ aad) (32)
 *
 * `pkcs11-aes-kwp`  args [kekId]        body = AES-KWP(kek, bound), RFC 5649: 72 bytes
 *                   kekId = hex(SHA-256("ovseal/v1 pkcs11 kek id\n" ‖ AES-KWP(kek, KEK_CHECK))[0..8))
 * `pkcs11-rsa-oaep` args [keyId, hash]  body = RSAES-OAEP(publicKey, bound), hash and MGF1 with
 *                   `hash` (sha256 or sha1), empty label; keyId = hex(SHA-256(SPKI DER)[0..8))
 *
 * The hash of the wrap context inside the wrapped value binds the stanza to its container: the
 * wrapped bytes carry it under the token's key, so a stanza moved elsewhere unwraps to a value
 * whose second half does not match, and is refused.
 */
import { createHash, timingSafeEqual, type KeyObject } from 'node:crypto';
import { AuthenticationFailedError, type WrapContext } from '@ovseal/container';

export const AES_KWP_STANZA = 'pkcs11-aes-kwp';
export const RSA_OAEP_STANZA = 'pkcs11-rsa-oaep';
export type OaepHash = 'sha256' | 'sha1';
export const OAEP_HASHES: readonly OaepHash[] = ['sha256', 'sha1'];

const DATA_KEY_LENGTH = 32;
export const BOUND_LENGTH = 64;
/** RFC 5649 output for the 64-byte bound value: 64 + 8. */
export const KWP_BODY_LENGTH = 72;
/** The value whose wrap identifies an AES key-encryption key (its key check value). */
export const KEK_CHECK = createHash('sha256').update('ovseal/v1 pkcs11 kek check\n').digest();
/** RFC 5649 output for {@link KEK_CHECK}: 32 + 8. */
export const KEK_CHECK_WRAP_LENGTH = 40;

function contextHash(context: WrapContext): Buffer {
  return createHash('sha256').update('ovseal/v1 pkcs11 bind\n').update(context.aad).digest();
}

/** What gets wrapped: the data key followed by the hash of the wrap context. */
export function boundValue(dataKey: Uint8Array, context: WrapContext): Buffer {
  if (dataKey.length !== DATA_KEY_LENGTH) throw new RangeError('a data key is 32 bytes');
  return Buffer.concat([dataKey, contextHash(context)]);
}

/** The data key from an unwrapped value, if it was bound to this context; otherwise an authentication failure. */
export function openBoundValue(bound: Uint8Array, context: WrapContext): Buffer {
  const expected = contextHash(context);
  const ok = bound.length === BOUND_LENGTH && timingSafeEqual(bound.subarray(DATA_KEY_LENGTH), expected);
  if (!ok) throw new AuthenticationFailedError();
  return Buffer.from(bound.subarray(0, DATA_KEY_LENGTH));
}

/** The id of an AES key-encryption key, from its wrap of {@link KEK_CHECK}. */
export function kekIdFromCheck(wrappedCheck: Uint8Array): string {
  return createHash('sha256').update('ovseal/v1 pkcs11 kek id\n').update(wrappedCheck).digest('hex').slice(0, 16);
}

/** The id of an RSA key: the first 8 bytes of SHA-256 of its SPKI DER. */
export function rsaKeyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 16);
}
