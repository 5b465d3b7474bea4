import { AttestationError, verifyQuote, type AttestationErrorCode, type VerifiedQuote } from '@ovseal/key-tpm';
import type { QuoteRecord } from '../../store.js';
import { HttpError } from '../http.js';
import { valueMapOf } from './pcr-values.js';
import { base64Field } from './wire-bytes.js';

/** The refusal code of each way a quote fails. */
const QUOTE_REFUSALS: Partial<Record<AttestationErrorCode, string>> = {
  ERR_ATTEST_SIGNATURE: 'quote_signature_invalid',
  ERR_ATTEST_NONCE: 'quote_nonce_mismatch',
  ERR_ATTEST_PCR_SELECTION: 'quote_pcr_selection',
  ERR_ATTEST_PCR_DIGEST: 'quote_pcr_values',
};

/** TPMS_ATTEST and TPMT_SIGNATURE are a few hundred bytes; 24 PCRs of SHA-512 are 1536. */
const MAX_QUOTE_FIELD = 2048;

function refusalOf(error: AttestationError): HttpError {
  const code = QUOTE_REFUSALS[error.code] ?? 'bad_quote';
  return new HttpError(code === 'bad_quote' ? 400 : 403, code, `the quote is refused: ${error.message}`);
}

/**
 * Verifies a quote from the wire (tpm2_quote's outputs, base64) made by the device's attestation
 * key for `qualifyingData` over `pcrs`. Throws the refusal (an HttpError with a typed code).
 */
export function checkQuote(
  akPublic: Uint8Array,
  wire: Record<string, unknown> | undefined,
  qualifyingData: Uint8Array,
  pcrs: string,
): VerifiedQuote {
  if (!wire) throw new HttpError(403, 'quote_missing', `this device attests: the request needs a TPM quote over ${pcrs} ("quote")`);
  const quote = {
    attest: base64Field(wire, 'attest', MAX_QUOTE_FIELD, 'bad_quote'),
    signature: base64Field(wire, 'signature', MAX_QUOTE_FIELD, 'bad_quote'),
    pcrValues: base64Field(wire, 'pcrValues', MAX_QUOTE_FIELD, 'bad_quote'),
  };
  try {
    return verifyQuote({ ak: akPublic, ...quote, qualifyingData, pcrs });
  } catch (error) {
    if (error instanceof AttestationError) throw refusalOf(error);
    throw error;
  }
}

/** A verified quote as the store keeps it. */
export function quoteRecordOf(quote: VerifiedQuote, at: number): QuoteRecord {
  return {
    at,
    pcrs: quote.pcrs,
    values: valueMapOf(quote.values),
    clock: quote.clock.toString(),
    resetCount: quote.resetCount,
    restartCount: quote.restartCount,
    safe: quote.safe,
    firmwareVersion: quote.firmwareVersion.toString(),
  };
}
