import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@ovseal/container';
import { u16, u32 } from './bytes.js';
import { TPM_ALG } from './tpm-public.js';

/** A PCR selection in one bank, written `sha256:0,7` (the tpm2-tools syntax). */
export interface PcrSelection {
  readonly bank: PcrBank;
  /** Ascending, distinct, 0–23. */
  readonly indices: readonly number[];
}

export type PcrBank = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const BANK_ALG: Record<PcrBank, number> = {
  sha1: TPM_ALG.sha1,
  sha256: TPM_ALG.sha256,
  sha384: TPM_ALG.sha384,
  sha512: TPM_ALG.sha512,
};
export const BANK_DIGEST_LENGTH: Record<PcrBank, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const PCR_COUNT = 24;
const TPM_CC_POLICY_PCR = 0x0000017f;

export const DEFAULT_PCRS = 'sha256:0,7';

/**
 * Parses a PCR selection in one bank, `BANK:INDEX[,INDEX…]` (indices sorted, duplicates dropped).
 * Throws `InvalidArgumentError` on anything else.
 *
 * @example
 * ```ts
 * parsePcrSelection('sha256:7,0'); // { bank: 'sha256', indices: [0, 7] }
 * ```
 */
export function parsePcrSelection(text: string): PcrSelection {
  const match = /^(sha1|sha256|sha384|sha512):(\d{1,2}(?:,\d{1,2})*)$/.exec(text.trim());
  if (!match) {
    throw new InvalidArgumentError(`bad PCR selection ${JSON.stringify(text)}`, {
      hint: 'write it as BANK:INDEX[,INDEX…], e.g. sha256:0,7',
    });
  }
  const indices = [...new Set(match[2]!.split(',').map(Number))].sort((a, b) => a - b);
  if (indices.some((i) => i >= PCR_COUNT)) throw new InvalidArgumentError(`PCR indices go from 0 to ${PCR_COUNT - 1}: ${text}`);
  return { bank: match[1] as PcrBank, indices };
}

/**
 * The tpm2-tools form of a selection.
 *
 * @example
 * ```ts
 * formatPcrSelection({ bank: 'sha256', indices: [0, 7] }); // 'sha256:0,7'
 * ```
 */
export function formatPcrSelection(selection: PcrSelection): string {
  return `${selection.bank}:${selection.indices.join(',')}`;
}

/** TPML_PCR_SELECTION with one bank and a 3-byte bitmap. */
function marshalSelection(selection: PcrSelection): Buffer {
  const bitmap = Buffer.alloc(3);
  for (const index of selection.indices) bitmap[index >> 3]! |= 1 << (index & 7);
  return Buffer.concat([u32(1), u16(BANK_ALG[selection.bank]), Buffer.from([3]), bitmap]);
}

/**
 * The policy digest of `TPM2_PolicyPCR(selection, values)` from an empty SHA-256 policy session
 * (Part 3, §23.7): H(0…0 ‖ TPM_CC_PolicyPCR ‖ TPML_PCR_SELECTION ‖ H(PCR values in index order)).
 * Computed here from the values read with tpm2_pcrread: a trial session on a TPM without a resource
 * manager would be one more session to flush.
 */
export function pcrPolicyDigest(selection: PcrSelection, values: Uint8Array): Buffer {
  const expected = selection.indices.length * BANK_DIGEST_LENGTH[selection.bank];
  if (values.length !== expected) throw new RangeError(`PCR values are ${values.length} bytes, expected ${expected}`);
  const valuesDigest = createHash('sha256').update(values).digest();
  return createHash('sha256')
    .update(Buffer.alloc(32))
    .update(u32(TPM_CC_POLICY_PCR))
    .update(marshalSelection(selection))
    .update(valuesDigest)
    .digest();
}
