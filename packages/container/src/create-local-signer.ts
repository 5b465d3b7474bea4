import type { KeyObject } from 'node:crypto';
import { algorithmOf, publicKeyOf, signWithKey, toPrivateKey } from './lib/crypto/signature.js';
import type { Signer } from './types.js';

/**
 * A {@link Signer} over a private key held in this process (Ed25519 or ECDSA P-256, PKCS#8 PEM or
 * a KeyObject), e.g. one made by {@link generateSigningKey} or `ovseal sign-keygen`. `seal` also
 * takes the PEM or KeyObject directly and wraps it this way.
 *
 * @example
 * ```ts
 * const signer = createLocalSigner(readFileSync('publisher.pem', 'utf8'));
 * await seal({ output, entries, metadata, recipients, signer });
 * ```
 */
export function createLocalSigner(key: KeyObject | string): Signer {
  const privateKey = toPrivateKey(key);
  const algorithm = algorithmOf(privateKey);
  return Object.freeze({
    algorithm,
    publicKey: publicKeyOf(privateKey),
    async sign(message: Uint8Array): Promise<Uint8Array> {
      return signWithKey(message, privateKey, algorithm);
    },
  });
}
