import { createHash, createPublicKey, KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@ovseal/container';

/** The key id of a device key: hex SHA-256 of its SPKI DER (`openssl pkey -pubin -outform der | sha256sum`). */
export function keyIdOf(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

export function pemOf(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

export type PublicKeyInput = string | Uint8Array | KeyObject;

/** Accepts a KeyObject, SPKI PEM text, SPKI DER bytes, base64/base64url SPKI DER, or a path to a PEM/DER file. */
export function toPublicKey(input: PublicKeyInput): KeyObject {
  try {
    if (typeof input !== 'string') {
      if (input instanceof KeyObject) return input.type === 'public' ? input : createPublicKey(input);
      return createPublicKey({ key: Buffer.from(input), format: 'der', type: 'spki' });
    }
    const text = input.trim();
    if (text.startsWith('-----BEGIN')) return createPublicKey(text);
    if (existsSync(text)) {
      const bytes = readFileSync(text);
      return bytes.toString('latin1').includes('-----BEGIN')
        ? createPublicKey(bytes.toString('utf8'))
        : createPublicKey({ key: bytes, format: 'der', type: 'spki' });
    }
    if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) return createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new InvalidArgumentError(`not a public key: ${(cause as Error).message}`, { cause });
  }
  throw new InvalidArgumentError(`not a public key, a PEM file or base64 SPKI: ${JSON.stringify(input.slice(0, 40))}`);
}

export function requireP256(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new InvalidArgumentError('a tpm-ecdh device key is an EC P-256 public key');
  }
  return key;
}

export function requireRsa(key: KeyObject): KeyObject {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < 2048)
    throw new InvalidArgumentError('a tpm-rsa device key is an RSA public key of at least 2048 bits');
  return key;
}
