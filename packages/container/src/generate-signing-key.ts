import { generateKeyPairSync } from 'node:crypto';
import { keyIdOf } from './lib/crypto/signature.js';
import type { SignatureAlgorithm } from './types.js';

/** A publisher signing key pair, PEM encoded. */
export interface SigningKeyPair {
  readonly algorithm: SignatureAlgorithm;
  /** PKCS#8 PEM: keep it secret. */
  readonly privateKeyPem: string;
  /** SPKI PEM: give it to every loader that should trust this publisher. */
  readonly publicKeyPem: string;
  /** Hex SHA-256 of the SPKI DER. */
  readonly keyId: string;
}

/**
 * Creates a publisher signing key (Ed25519 by default, or ECDSA P-256).
 *
 * @example
 * ```ts
 * const { privateKeyPem, publicKeyPem } = generateSigningKey();
 * await seal({ ..., signer: privateKeyPem });
 * ```
 */
export function generateSigningKey(algorithm: SignatureAlgorithm = 'ed25519'): SigningKeyPair {
  const { privateKey, publicKey } =
    algorithm === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    algorithm,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}
