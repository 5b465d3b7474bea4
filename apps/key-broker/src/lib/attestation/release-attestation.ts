import { quoteQualifyingData } from '@ovseal/broker-protocol';
import type { BrokerStore, DeviceAttestationRecord, DeviceRecord, PcrPolicyRecord, QuoteRecord } from '../../store.js';
import { HttpError } from '../http.js';
import { mismatchesOf, selectionFor } from './pcr-values.js';
import { checkQuote, quoteRecordOf } from './quote-check.js';
import type { AttestationSettings } from './settings.js';
import { objectField } from './wire-bytes.js';

/** The PCRs a challenge asks this device (or an unknown id) to quote. */
export async function attestRequestFor(
  store: BrokerStore,
  settings: AttestationSettings,
  device: DeviceRecord | undefined,
): Promise<{ pcrs: string }> {
  return { pcrs: selectionFor(settings.defaultPcrs, device ? await store.pcrPoliciesForDevice(device) : []) };
}

/** Keeps a refused quote for an admin to see and accept, then throws the refusal. */
async function refuseQuote(store: BrokerStore, deviceId: string, quote: QuoteRecord, refusal: HttpError): Promise<never> {
  await store.recordQuote(
    deviceId,
    {
      ...quote,
      reason: refusal.code,
      ...(refusal.details['mismatched'] ? { mismatched: refusal.details['mismatched'] as QuoteRecord['mismatched'] } : {}),
    },
    'refused',
  );
  throw refusal;
}

function rolledBack(record: DeviceAttestationRecord, quote: QuoteRecord): boolean {
  const baseline = record.counters;
  if (!baseline) return false;
  return quote.resetCount < baseline.resetCount || (quote.resetCount === baseline.resetCount && quote.restartCount < baseline.restartCount);
}

function rollbackRefusal(record: DeviceAttestationRecord, quote: QuoteRecord): HttpError {
  const baseline = record.counters;
  return new HttpError(
    403,
    'tpm_counters_rollback',
    `the TPM's reset/restart counters went back (${quote.resetCount}/${quote.restartCount}, last accepted ${baseline?.resetCount}/${baseline?.restartCount}): its state was restored or cleared`,
  );
}

function policyRefusal(policies: readonly PcrPolicyRecord[], quote: QuoteRecord): HttpError | undefined {
  if (policies.length === 0)
    return new HttpError(403, 'no_pcr_policy', 'no PCR policy applies to this device: an admin sets one (or accepts its values)');
  const mismatched = mismatchesOf(policies, quote.values);
  if (mismatched.length === 0) return undefined;
  const which = mismatched.map((entry) => `${entry.policy}: ${entry.pcrs}`).join('; ');
  return new HttpError(403, 'pcr_mismatch', `the device's PCRs differ from the allowed values (${which})`, {}, { mismatched });
}

/**
 * Attestation at key release. A device that enrolled an attestation key must send a quote for this
 * request's nonce, over its PCRs, signed by that key; its reset counters may not go back; its PCR
 * values must match every policy that applies. A device without one gets nothing when a policy
 * applies to it. Throws the refusal (quotes refused for their values are kept for the admin).
 * Returns whether the release is attested.
 */
export async function checkReleaseAttestation(
  store: BrokerStore,
  settings: AttestationSettings,
  device: DeviceRecord,
  body: Record<string, unknown>,
  nonce: string,
  now: number,
  /** The device's attestation record (undefined: none) and its PCR policies, when the caller read them already. */
  known?: { readonly record: DeviceAttestationRecord | undefined; readonly policies: readonly PcrPolicyRecord[] },
): Promise<boolean> {
  const [record, policies] = known
    ? [known.record, known.policies]
    : await Promise.all([store.getAttestation(device.id), store.pcrPoliciesForDevice(device)]);
  if (!record) {
    if (policies.length === 0) return false;
    throw new HttpError(
      403,
      'attestation_required',
      `PCR policies apply to this device (${policies.map((policy) => policy.id).join(', ')}), but it enrolled without an attestation key`,
    );
  }
  const pcrs = selectionFor(settings.defaultPcrs, policies);
  const quote = quoteRecordOf(
    checkQuote(record.akPublic, objectField(body, 'quote', 'bad_quote'), quoteQualifyingData('release', nonce, device.id), pcrs),
    now,
  );
  if (rolledBack(record, quote)) await refuseQuote(store, device.id, quote, rollbackRefusal(record, quote));
  const refusal = policyRefusal(policies, quote);
  if (refusal) await refuseQuote(store, device.id, quote, refusal);
  // Guarded: a concurrent later quote (or a rollback) since the check leaves nothing written.
  if (!(await store.recordQuote(device.id, quote, 'accepted'))) await refuseQuote(store, device.id, quote, rollbackRefusal(record, quote));
  return true;
}
