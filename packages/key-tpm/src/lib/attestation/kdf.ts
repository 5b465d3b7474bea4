import { createHash, createHmac } from 'node:crypto';
import { u32 } from '../bytes.js';

/**
 * The TPM's key derivation functions (TPM 2.0 Part 1, §11.4.10). Labels are written with their
 * terminating NUL, as the TPM does. Only whole bytes are asked for here.
 */

function blocksNeeded(bits: number, digestBytes: number): number {
  if (!Number.isInteger(bits) || bits <= 0 || bits % 8 !== 0) throw new RangeError(`the KDFs here derive whole bytes, not ${bits} bits`);
  return Math.ceil(bits / 8 / digestBytes);
}

/** A TPM label as the KDFs and OAEP take it: its bytes and a terminating NUL. */
export function labelBytes(label: string): Buffer {
  return Buffer.concat([Buffer.from(label, 'latin1'), Buffer.alloc(1)]);
}

/**
 * KDFa (SP 800-108 counter mode with HMAC): HMAC(key, [i]₃₂ ‖ label ‖ 0 ‖ contextU ‖ contextV ‖ [bits]₃₂)
 * for i = 1, 2, …, truncated to `bits`.
 */
export function kdfa(hash: string, key: Uint8Array, label: string, contextU: Uint8Array, contextV: Uint8Array, bits: number): Buffer {
  const digestBytes = createHash(hash).digest().length;
  const blocks: Buffer[] = [];
  for (let i = 1; i <= blocksNeeded(bits, digestBytes); i++) {
    blocks.push(
      createHmac(hash, key).update(u32(i)).update(labelBytes(label)).update(contextU).update(contextV).update(u32(bits)).digest(),
    );
  }
  return Buffer.concat(blocks).subarray(0, bits / 8);
}

/**
 * KDFe (SP 800-56A concatenation KDF): H([i]₃₂ ‖ Z ‖ label ‖ 0 ‖ partyUInfo ‖ partyVInfo) for
 * i = 1, 2, …, truncated to `bits`. Z is the x-coordinate of the ECDH shared point.
 */
export function kdfe(hash: string, z: Uint8Array, label: string, partyUInfo: Uint8Array, partyVInfo: Uint8Array, bits: number): Buffer {
  const digestBytes = createHash(hash).digest().length;
  const blocks: Buffer[] = [];
  for (let i = 1; i <= blocksNeeded(bits, digestBytes); i++) {
    blocks.push(createHash(hash).update(u32(i)).update(z).update(labelBytes(label)).update(partyUInfo).update(partyVInfo).digest());
  }
  return Buffer.concat(blocks).subarray(0, bits / 8);
}
