import { createHash } from 'node:crypto';

/** What a quote is for: the second request of an enrolment, or a key release. */
export type QuotePurpose = 'enrol' | 'release';

/**
 * The qualifying data a device passes to TPM2_Quote: SHA-256 over the purpose, the broker's
 * single-use nonce and the device id. The broker checks the quote carries exactly this, so a quote
 * made for another nonce (a replay), another device or the other purpose is refused.
 *
 * @example
 * ```ts
 * const quote = await attestationKey.quote(challenge.attest.pcrs, quoteQualifyingData('release', challenge.nonce, deviceId));
 * ```
 */
export function quoteQualifyingData(purpose: QuotePurpose, nonce: string, deviceId: string): Buffer {
  return createHash('sha256').update(`ovseal-broker/v1 quote\n${purpose}\n${nonce}\n${deviceId}`).digest();
}
