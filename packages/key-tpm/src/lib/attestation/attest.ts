import { AttestationError } from '../../attestation-error.js';
import { ByteReader } from '../bytes.js';

/** TPMS_ATTEST of a quote (TPM 2.0 Part 2, §10.12), as TPM2_Quote signs it and tpm2_quote -m writes it. */

/** TPM_GENERATED_VALUE: the TPM starts everything it signs with a restricted key with it. */
const TPM_GENERATED_VALUE = 0xff544347;
const TPM_ST_ATTEST_QUOTE = 0x8018;
/** Banks in one selection (HASH_COUNT is far below) and bytes of one bitmap (PCR_SELECT_MAX is 3 on PC TPMs). */
const MAX_BANKS = 16;
const MAX_SELECT_BYTES = 8;

/** One bank of a TPML_PCR_SELECTION: its hash algorithm and the PCR indices selected. */
export interface BankSelection {
  readonly hash: number;
  readonly indices: readonly number[];
}

export interface QuoteAttest {
  readonly qualifiedSigner: Buffer;
  /** The qualifying data the caller passed (the verifier's nonce). */
  readonly extraData: Buffer;
  /** Milliseconds the TPM has been powered, as kept in NV (advances, may lag after a power loss). */
  readonly clock: bigint;
  /** TPM resets (reboots) since the TPM was cleared. */
  readonly resetCount: number;
  /** TPM restarts and resumes (hibernation) since the last reset. */
  readonly restartCount: number;
  /** False when the clock may have gone back (an unorderly shutdown lost its last update). */
  readonly safe: boolean;
  readonly firmwareVersion: bigint;
  readonly pcrSelection: readonly BankSelection[];
  /** H(the selected PCR values, bank after bank, each in index order), with the signing scheme's hash. */
  readonly pcrDigest: Buffer;
}

function u64(r: ByteReader): bigint {
  return r.bytes(8).readBigUInt64BE();
}

function indicesOf(bitmap: Buffer): number[] {
  const indices: number[] = [];
  bitmap.forEach((byte, offset) => {
    for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) indices.push(offset * 8 + bit);
  });
  return indices;
}

function readPcrSelection(r: ByteReader): BankSelection[] {
  const count = r.u32();
  if (count > MAX_BANKS) throw new RangeError(`${count} PCR banks in one selection`);
  const banks: BankSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hash = r.u16();
    const size = r.u8();
    if (size > MAX_SELECT_BYTES) throw new RangeError(`a PCR bitmap of ${size} bytes`);
    banks.push({ hash, indices: indicesOf(r.bytes(size)) });
  }
  return banks;
}

function readQuote(r: ByteReader): QuoteAttest {
  const qualifiedSigner = Buffer.from(r.sized16());
  const extraData = Buffer.from(r.sized16());
  const clock = u64(r);
  const resetCount = r.u32();
  const restartCount = r.u32();
  const safe = r.u8() !== 0;
  const firmwareVersion = u64(r);
  const pcrSelection = readPcrSelection(r);
  const pcrDigest = Buffer.from(r.sized16());
  r.end();
  return { qualifiedSigner, extraData, clock, resetCount, restartCount, safe, firmwareVersion, pcrSelection, pcrDigest };
}

/**
 * Parses a signed TPMS_ATTEST and checks that it is a quote the TPM generated (magic and type).
 * Parse it only after its signature verified: before, the bytes are anyone's.
 */
export function parseQuoteAttest(bytes: Uint8Array): QuoteAttest {
  const r = new ByteReader(bytes);
  let magic: number;
  let type: number;
  try {
    magic = r.u32();
    type = r.u16();
  } catch (cause) {
    throw new AttestationError('ERR_ATTEST_MALFORMED', 'the quote is shorter than a TPMS_ATTEST header', { cause });
  }
  if (magic !== TPM_GENERATED_VALUE || type !== TPM_ST_ATTEST_QUOTE) {
    throw new AttestationError(
      'ERR_ATTEST_NOT_QUOTE',
      `the signed structure is not a TPM-generated quote (magic 0x${magic.toString(16)}, type 0x${type.toString(16)})`,
    );
  }
  try {
    return readQuote(r);
  } catch (cause) {
    throw new AttestationError('ERR_ATTEST_MALFORMED', `the quote does not parse: ${(cause as Error).message}`, { cause });
  }
}
