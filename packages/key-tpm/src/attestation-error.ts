import { OvsealError } from '@ovseal/container';

/**
 * Codes of the errors thrown by the attestation checks of `@ovseal/key-tpm`.
 *
 * - `ERR_ATTEST_MALFORMED`: a TPM structure (TPM2B_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE, PCR values)
 *   does not parse: truncated, trailing bytes, a field out of range.
 * - `ERR_ATTEST_KEY`: the key is not what its role needs: an attestation key that is not a
 *   restricted, fixedTPM signing key; an endorsement key that is not a restricted decryption key.
 * - `ERR_ATTEST_UNSUPPORTED`: an algorithm these checks do not implement (a curve, hash or cipher).
 * - `ERR_ATTEST_SIGNATURE`: the quote's signature does not verify with the attestation key.
 * - `ERR_ATTEST_NONCE`: the quote was made for other qualifying data (another nonce: a replay).
 * - `ERR_ATTEST_NOT_QUOTE`: the signed structure is not a TPM-generated quote.
 * - `ERR_ATTEST_PCR_SELECTION`: the quote covers other PCRs than the ones asked for.
 * - `ERR_ATTEST_PCR_DIGEST`: the PCR values sent with the quote are not the ones it signed.
 * - `ERR_ATTEST_EK_CERTIFICATE`: the EK certificate does not chain to a trusted manufacturer CA,
 *   is outside its validity, or certifies another key than the endorsement key.
 */
export type AttestationErrorCode =
  | 'ERR_ATTEST_MALFORMED'
  | 'ERR_ATTEST_KEY'
  | 'ERR_ATTEST_UNSUPPORTED'
  | 'ERR_ATTEST_SIGNATURE'
  | 'ERR_ATTEST_NONCE'
  | 'ERR_ATTEST_NOT_QUOTE'
  | 'ERR_ATTEST_PCR_SELECTION'
  | 'ERR_ATTEST_PCR_DIGEST'
  | 'ERR_ATTEST_EK_CERTIFICATE';

/**
 * A TPM attestation check failed: a quote, a key or an EK certificate was refused. The code says
 * which check; the message says what was found.
 *
 * @example
 * ```ts
 * try {
 *   verifyQuote({ ak, attest, signature, qualifyingData, pcrs: 'sha256:0,7', pcrValues });
 * } catch (error) {
 *   if (error instanceof AttestationError && error.code === 'ERR_ATTEST_NONCE') console.error('a replayed quote');
 * }
 * ```
 */
export class AttestationError extends OvsealError {
  declare readonly code: AttestationErrorCode;

  constructor(code: AttestationErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(code, message, options);
  }
}
