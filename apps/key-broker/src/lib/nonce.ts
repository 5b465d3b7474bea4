import { randomBytes } from 'node:crypto';

/** Random bytes at the start of a nonce (they stand in a challenge's container id: at least 16). */
const NONCE_RANDOM = 16;

/**
 * A single-use nonce that carries its own expiry: 16 random bytes ‖ expiry (u64 ms), base64url.
 * Nothing is stored when it is issued; its use is recorded (challenges) or bound (activations).
 */
export function newNonce(now: number, ttlMs: number): { nonce: string; expiresAt: number } {
  const expiresAt = now + ttlMs;
  const raw = Buffer.alloc(NONCE_RANDOM + 8);
  randomBytes(NONCE_RANDOM).copy(raw);
  raw.writeBigUInt64BE(BigInt(expiresAt), NONCE_RANDOM);
  return { nonce: raw.toString('base64url'), expiresAt };
}

/** The expiry a nonce carries, or undefined when it is not one. */
export function nonceExpiry(nonce: string): number | undefined {
  const raw = Buffer.from(nonce, 'base64url');
  return raw.length === NONCE_RANDOM + 8 ? Number(raw.readBigUInt64BE(NONCE_RANDOM)) : undefined;
}
