// Store records from table rows: one mapping for every store (SQLite and PostgreSQL share the
// tables; PostgreSQL answers BIGINT as text and JSONB already parsed, hence Number() and parse()).
import type {
  AuditInput,
  AuditRecord,
  DeviceAttestationRecord,
  DeviceRecord,
  EnrolmentTokenRecord,
  GrantRecord,
  ModelRecord,
  PcrPolicyRecord,
  PcrValuesRecord,
  QuoteRecord,
  ReleaseRequestRecord,
} from '../store.js';

/** A row as a driver returns it. */
export type Row = Record<string, unknown>;

export const json = (value: unknown) => JSON.stringify(value);
/** JSON columns: text in SQLite, already parsed (JSONB) from PostgreSQL. */
const parse = <T>(value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value) as T;
export const orNull = <T>(value: T | null | undefined): T | null => (value === undefined ? null : value);

export function modelFromRow(row: Row): ModelRecord {
  const kind = row['storage_kind'] as 'file' | 'url';
  const ref = String(row['storage_ref']);
  return {
    id: String(row['id']),
    name: String(row['name']),
    version: String(row['version']),
    containerId: String(row['container_id']),
    format: String(row['format']),
    createdAt: Number(row['created_at']),
    notAfter: row['not_after'] === null ? null : Number(row['not_after']),
    entries: parse(row['entries']),
    stanzas: parse(row['stanzas']),
    size: Number(row['size']),
    sha256: (row['sha256'] as string | null) ?? null,
    payloadDigest: String(row['payload_digest']),
    signatureKeyId: (row['signature_key_id'] as string | null) ?? null,
    storage: kind === 'file' ? { kind, path: ref } : { kind, url: ref },
    registeredAt: Number(row['registered_at']),
    header: row['header'] === null || row['header'] === undefined ? null : new Uint8Array(row['header'] as Buffer),
  };
}

export function deviceFromRow(row: Row): DeviceRecord {
  return {
    id: String(row['id']),
    keyType: row['key_type'] as DeviceRecord['keyType'],
    publicKeyPem: String(row['public_key_pem']),
    keyId: String(row['key_id']),
    labels: parse(row['labels']),
    registeredAt: Number(row['registered_at']),
    revokedAt: row['revoked_at'] === null ? null : Number(row['revoked_at']),
    revokedReason: (row['revoked_reason'] as string | null) ?? null,
  };
}

export function grantFromRow(row: Row): GrantRecord {
  const value = String(row['subject_value']);
  return {
    id: String(row['id']),
    // A device grant from before keys were bound (no device then) matches no key.
    subject:
      row['subject_kind'] === 'device'
        ? { kind: 'device', value, keyId: (row['subject_key_id'] as string | null) ?? '' }
        : { kind: 'label', value },
    modelName: String(row['model_name']),
    modelVersion: (row['model_version'] as string | null) ?? null,
    notAfter: Number(row['not_after']),
    maxReleases: Number(row['max_releases']),
    releases: Number(row['releases']),
    maxReleasesPerDevice:
      row['max_releases_per_device'] === null || row['max_releases_per_device'] === undefined
        ? null
        : Number(row['max_releases_per_device']),
    ...(row['device_releases'] !== undefined ? { deviceReleases: Number(row['device_releases'] ?? 0) } : {}),
    createdAt: Number(row['created_at']),
    revokedAt: row['revoked_at'] === null ? null : Number(row['revoked_at']),
  };
}

export function tokenFromRow(row: Row): EnrolmentTokenRecord {
  return {
    id: String(row['id']),
    tokenHash: String(row['token_hash']),
    labels: parse(row['labels']),
    expiresAt: Number(row['expires_at']),
    maxUses: Number(row['max_uses']),
    uses: Number(row['uses']),
    deviceId: (row['device_id'] as string | null) ?? null,
    deviceIdPattern: (row['device_id_pattern'] as string | null) ?? null,
    // INTEGER 0/1 in SQLite, BOOLEAN in PostgreSQL.
    requireAttestation: Number(row['require_attestation'] ?? 0) === 1,
    allowMissingEkCertificate: Number(row['allow_missing_ek_certificate'] ?? 0) === 1,
    createdAt: Number(row['created_at']),
    revokedAt: row['revoked_at'] === null || row['revoked_at'] === undefined ? null : Number(row['revoked_at']),
  };
}

export function auditFromRow(row: Row): AuditRecord {
  return {
    id: Number(row['id']),
    at: Number(row['at']),
    actor: String(row['actor']),
    action: String(row['action']),
    outcome: row['outcome'] as AuditRecord['outcome'],
    deviceId: (row['device_id'] as string | null) ?? null,
    modelId: (row['model_id'] as string | null) ?? null,
    grantId: (row['grant_id'] as string | null) ?? null,
    reason: (row['reason'] as string | null) ?? null,
    remote: (row['remote'] as string | null) ?? null,
  };
}

/** An audit input with every optional field present (null): what both stores insert and return. */
export function auditFields(entry: AuditInput): Required<AuditInput> {
  return {
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    outcome: entry.outcome,
    deviceId: orNull(entry.deviceId),
    modelId: orNull(entry.modelId),
    grantId: orNull(entry.grantId),
    reason: orNull(entry.reason),
    remote: orNull(entry.remote),
  };
}

export function releaseRequestFromRow(row: Row): ReleaseRequestRecord {
  return {
    deviceId: String(row['device_id']),
    requestId: String(row['request_id']),
    grantId: String(row['grant_id']),
    modelId: String(row['model_id']),
    at: Number(row['at']),
  };
}

// Attestation (schema 3 in SQLite, step 0004 in PostgreSQL).
const parseOrNull = <T>(value: unknown): T | null => (value === null || value === undefined ? null : parse<T>(value));
const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

export function attestationFromRow(row: Row): DeviceAttestationRecord {
  const resetCount = numberOrNull(row['reset_count']);
  return {
    deviceId: String(row['device_id']),
    ekPublic: new Uint8Array(row['ek_public'] as Buffer),
    ekName: String(row['ek_name']),
    ekCertificate: row['ek_certificate'] === null ? null : new Uint8Array(row['ek_certificate'] as Buffer),
    ekVerification: row['ek_verification'] as DeviceAttestationRecord['ekVerification'],
    ekIssuer: (row['ek_issuer'] as string | null) ?? null,
    akPublic: new Uint8Array(row['ak_public'] as Buffer),
    akName: String(row['ak_name']),
    enrolledAt: Number(row['enrolled_at']),
    counters: resetCount === null ? null : { resetCount, restartCount: Number(row['restart_count']) },
    lastQuote: parseOrNull<QuoteRecord>(row['last_quote']),
    lastRefused: parseOrNull<QuoteRecord>(row['last_refused']),
  };
}

export function valuesFromRow(row: Row): PcrValuesRecord {
  return {
    id: String(row['id']),
    policyId: String(row['policy_id']),
    deviceId: (row['device_id'] as string | null) ?? null,
    values: parse<Record<string, string>>(row['pcr_values']),
    source: row['source'] as PcrValuesRecord['source'],
    note: (row['note'] as string | null) ?? null,
    addedAt: Number(row['added_at']),
    removedAt: numberOrNull(row['removed_at']),
  };
}

export function policyFromRow(row: Row, values: PcrValuesRecord[]): PcrPolicyRecord {
  return {
    id: String(row['id']),
    subject: { kind: row['subject_kind'] as 'device' | 'label', value: String(row['subject_value']) },
    pcrs: String(row['pcrs']),
    tofu: row['tofu'] as PcrPolicyRecord['tofu'],
    note: (row['note'] as string | null) ?? null,
    createdAt: Number(row['created_at']),
    removedAt: numberOrNull(row['removed_at']),
    values,
  };
}
