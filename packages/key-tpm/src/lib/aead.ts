import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';

/**
 * AES-256-GCM under a key that is used for exactly one message (fresh from HKDF over a fresh
 * secret), so a fixed zero nonce is safe — the same argument as age's X25519 stanza.
 */
const ZERO_NONCE = Buffer.alloc(12);
export const TAG_LENGTH = 16;

export function deriveWrapKey(secret: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, salt, info, 32));
}

export function aeadSeal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, ZERO_NONCE);
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext, or null when the tag does not verify. */
export function aeadOpen(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer | null {
  if (sealed.length < TAG_LENGTH) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, ZERO_NONCE);
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
  const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
  try {
    decipher.final();
    return plaintext;
  } catch {
    plaintext.fill(0);
    return null;
  }
}
