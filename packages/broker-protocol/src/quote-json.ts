import type { WireQuote } from './types.js';

/** A quote as the device holds it (e.g. `@ovseal/key-tpm`'s `TpmQuote`). */
export interface QuoteBytes {
  readonly pcrs: string;
  readonly attest: Uint8Array;
  readonly signature: Uint8Array;
  readonly pcrValues: Uint8Array;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/**
 * A TPM quote as JSON (base64 fields), for key requests and enrolment.
 *
 * @example
 * ```ts
 * const body = { quote: quoteToJson(await attestationKey.quote(pcrs, qualifyingData)) };
 * ```
 */
export function quoteToJson(quote: QuoteBytes): WireQuote {
  return { pcrs: quote.pcrs, attest: b64(quote.attest), signature: b64(quote.signature), pcrValues: b64(quote.pcrValues) };
}
