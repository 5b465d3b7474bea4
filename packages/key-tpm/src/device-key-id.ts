import { keyIdOf, toPublicKey, type PublicKeyInput } from './lib/public-key.js';

/**
 * The key id of a device public key, as written in its `tpm-ecdh` / `tpm-rsa` stanzas: hex SHA-256
 * of the SPKI DER — the same as `openssl pkey -pubin -in device.pem -outform der | sha256sum`.
 *
 * @example
 * ```ts
 * const id = deviceKeyId(readFileSync('device.pem', 'utf8'));
 * ```
 */
export function deviceKeyId(publicKey: PublicKeyInput): string {
  return keyIdOf(toPublicKey(publicKey));
}
