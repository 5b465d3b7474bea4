import type { DeviceAttestationRecord, PcrPolicyRecord, PcrValuesRecord } from '../../store.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function valuesView(values: PcrValuesRecord) {
  return {
    id: values.id,
    deviceId: values.deviceId,
    values: values.values,
    source: values.source,
    note: values.note,
    addedAt: iso(values.addedAt),
  };
}

/** A PCR policy as admins see it, with its current value sets. */
export function pcrPolicyView(policy: PcrPolicyRecord) {
  return {
    id: policy.id,
    subject: policy.subject,
    pcrs: policy.pcrs,
    tofu: policy.tofu,
    note: policy.note,
    createdAt: iso(policy.createdAt),
    removedAt: iso(policy.removedAt),
    values: policy.values.map(valuesView),
  };
}

/** A device's attestation as admins see it: its TPM's keys, last quotes and the policies that apply. */
export function attestationView(record: DeviceAttestationRecord, policies: readonly PcrPolicyRecord[]) {
  return {
    deviceId: record.deviceId,
    ek: {
      name: record.ekName,
      verification: record.ekVerification,
      issuer: record.ekIssuer,
      certificate: record.ekCertificate && Buffer.from(record.ekCertificate).toString('base64'),
    },
    ak: { name: record.akName },
    enrolledAt: iso(record.enrolledAt),
    counters: record.counters,
    lastQuote: record.lastQuote && { ...record.lastQuote, at: iso(record.lastQuote.at) },
    lastRefused: record.lastRefused && { ...record.lastRefused, at: iso(record.lastRefused.at) },
    policies: policies.map(pcrPolicyView),
  };
}
