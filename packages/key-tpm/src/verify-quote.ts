import { createHash, timingSafeEqual } from 'node:crypto';
import { AttestationError } from './attestation-error.js';
import { parseQuoteAttest, type BankSelection, type QuoteAttest } from './lib/attestation/attest.js';
import { parseAttestationKeyPublic, type AttestationKeyPublic } from './lib/attestation/key-roles.js';
import { parseSignature, signatureVerifies } from './lib/attestation/signature.js';
import { BANK_ALG, BANK_DIGEST_LENGTH, formatPcrSelection, parsePcrSelection, type PcrSelection } from './lib/pcr.js';
import { hashOfAlg } from './lib/tpm-public.js';

/** What {@link verifyQuote} checks. */
export interface VerifyQuoteInput {
  /** The attestation key (its TPM2B_PUBLIC, or parsed by `parseAttestationKey`). */
  readonly ak: AttestationKeyPublic | Uint8Array;
  /** The signed TPMS_ATTEST (`tpm2_quote -m`). */
  readonly attest: Uint8Array;
  /** The TPMT_SIGNATURE (`tpm2_quote -s`). */
  readonly signature: Uint8Array;
  /** The qualifying data the quote must carry: the verifier's fresh nonce. */
  readonly qualifyingData: Uint8Array;
  /** The PCRs the verifier asked for, `sha256:0,7`. */
  readonly pcrs: string;
  /** The PCR values the quote covers, concatenated in index order (`tpm2_quote -o FILE -F values`). */
  readonly pcrValues: Uint8Array;
}

/** A quote that verified: the TPM's PCR values and clock at the time it signed. */
export interface VerifiedQuote {
  readonly pcrs: string;
  /** PCR index → value. */
  readonly values: ReadonlyMap<number, Buffer>;
  readonly clock: bigint;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
  readonly firmwareVersion: bigint;
}

function requireSignature(ak: AttestationKeyPublic, attest: Uint8Array, signatureBytes: Uint8Array): void {
  const signature = parseSignature(signatureBytes, ak);
  if (!signatureVerifies(ak, attest, signature))
    throw new AttestationError('ERR_ATTEST_SIGNATURE', "the quote's signature does not verify with the attestation key");
}

function requireQualifyingData(attest: QuoteAttest, expected: Uint8Array): void {
  const actual = attest.extraData;
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new AttestationError('ERR_ATTEST_NONCE', 'the quote was made for another nonce (a replayed or stale quote)');
  }
}

function requireSelection(quoted: readonly BankSelection[], expected: PcrSelection): void {
  const banks = quoted.filter((bank) => bank.indices.length > 0);
  const matches =
    banks.length === 1 && banks[0]!.hash === BANK_ALG[expected.bank] && banks[0]!.indices.join(',') === expected.indices.join(',');
  if (!matches) throw new AttestationError('ERR_ATTEST_PCR_SELECTION', `the quote does not cover exactly ${formatPcrSelection(expected)}`);
}

function valuesOf(selection: PcrSelection, bytes: Uint8Array): Map<number, Buffer> {
  const size = BANK_DIGEST_LENGTH[selection.bank];
  if (bytes.length !== selection.indices.length * size) {
    throw new AttestationError(
      'ERR_ATTEST_MALFORMED',
      `${bytes.length} bytes of PCR values for ${selection.indices.length} ${selection.bank} PCRs`,
    );
  }
  return new Map(selection.indices.map((index, i) => [index, Buffer.from(bytes.subarray(i * size, (i + 1) * size))]));
}

function requirePcrDigest(ak: AttestationKeyPublic, attest: QuoteAttest, values: Uint8Array): void {
  const digest = createHash(hashOfAlg(ak.scheme.hash)!.name).update(values).digest();
  if (digest.length !== attest.pcrDigest.length || !timingSafeEqual(digest, attest.pcrDigest)) {
    throw new AttestationError('ERR_ATTEST_PCR_DIGEST', 'the PCR values sent are not the ones the quote signed');
  }
}

/**
 * Verifies a TPM2_Quote in Node, without a TPM: the signature with the attestation key (which only
 * signs TPM-generated structures), that it is a quote, that it carries the verifier's qualifying
 * data (freshness), that it covers exactly the PCRs asked for, and that the PCR values sent with it
 * are the ones it signed. Returns those values and the TPM's clock and reset counters.
 *
 * @example
 * ```ts
 * const quote = verifyQuote({ ak: device.akPublic, attest, signature, qualifyingData: nonceDigest, pcrs: 'sha256:0,7', pcrValues });
 * if (!quote.values.get(7)!.equals(golden7)) refuse('pcr_mismatch');
 * ```
 */
export function verifyQuote(input: VerifyQuoteInput): VerifiedQuote {
  const ak = input.ak instanceof Uint8Array ? parseAttestationKeyPublic(input.ak) : input.ak;
  const selection = parsePcrSelection(input.pcrs);
  requireSignature(ak, input.attest, input.signature);
  const attest = parseQuoteAttest(input.attest);
  requireQualifyingData(attest, input.qualifyingData);
  requireSelection(attest.pcrSelection, selection);
  const values = valuesOf(selection, input.pcrValues);
  requirePcrDigest(ak, attest, input.pcrValues);
  const { clock, resetCount, restartCount, safe, firmwareVersion } = attest;
  return { pcrs: formatPcrSelection(selection), values, clock, resetCount, restartCount, safe, firmwareVersion };
}
