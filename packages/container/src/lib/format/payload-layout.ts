import { createHash } from 'node:crypto';
import { TAG_LENGTH } from './limits.js';

/** Where each entry's segments lie in the payload (docs/FORMAT.md §6). */
export interface EntryLayout {
  readonly index: number;
  readonly size: number;
  readonly segmentCount: number;
  /** Offset of the entry's first segment from the start of the payload. */
  readonly payloadOffset: number;
  readonly ciphertextLength: number;
  /** Index of the entry's first segment among all segments (for the payload digest). */
  readonly firstGlobalSegment: number;
}

export function segmentCount(size: number, segmentSize: number): number {
  return Math.max(1, Math.ceil(size / segmentSize));
}

/** Plaintext length of segment `segment` of an entry of `size` bytes. */
export function segmentPlainLength(size: number, segmentSize: number, segment: number): number {
  const count = segmentCount(size, segmentSize);
  return segment < count - 1 ? segmentSize : size - (count - 1) * segmentSize;
}

export function layoutEntries(sizes: readonly number[], segmentSize: number): EntryLayout[] {
  let offset = 0;
  let globalSegment = 0;
  return sizes.map((size, index) => {
    const count = segmentCount(size, segmentSize);
    const ciphertextLength = size + count * TAG_LENGTH;
    const layout = { index, size, segmentCount: count, payloadOffset: offset, ciphertextLength, firstGlobalSegment: globalSegment };
    offset += ciphertextLength;
    globalSegment += count;
    return layout;
  });
}

export function payloadLength(layouts: readonly EntryLayout[]): number {
  return layouts.reduce((sum, entry) => sum + entry.ciphertextLength, 0);
}

/** nonce = u32 entry index ‖ u56 segment index ‖ u8 last-segment flag. */
export function segmentNonce(entryIndex: number, segment: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(entryIndex, 0);
  // 56-bit counter: high 24 bits then low 32 bits.
  nonce.writeUIntBE(Math.floor(segment / 2 ** 32), 4, 3);
  nonce.writeUInt32BE(segment >>> 0, 7);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

const DIGEST_LABEL = Buffer.from('ovseal/v1 payload digest\n');

/** Tree digest of the encrypted payload: SHA-256(label ‖ SHA-256(segment₀) ‖ SHA-256(segment₁) ‖ …). */
export function payloadDigest(segmentHashes: readonly Uint8Array[]): Buffer {
  const hash = createHash('sha256').update(DIGEST_LABEL);
  for (const segmentHash of segmentHashes) hash.update(segmentHash);
  return hash.digest();
}

/** SHA-256 of a sealed segment (ciphertext ‖ tag). */
export function segmentHash(sealed: Uint8Array): Buffer {
  return createHash('sha256').update(sealed).digest();
}

/** {@link segmentHash} of a segment whose ciphertext and tag lie apart. */
export function splitSegmentHash(body: Uint8Array, tag: Uint8Array): Buffer {
  return createHash('sha256').update(body).update(tag).digest();
}
