// Store records as table columns, the other way from store-rows.ts: one column list per table for
// both stores' INSERTs, so SQLite and PostgreSQL cannot drift apart column by column.
import type {
  AuditInput,
  DeviceAttestationRecord,
  DeviceRecord,
  EnrolmentTokenRecord,
  GrantRecord,
  ModelRecord,
  PcrPolicyRecord,
} from '../store.js';
import { json } from './store-rows.js';

/** Column name → value, in the table's column order. */
export type Columns = Record<string, unknown>;

/** An INSERT statement for one row and its values, with the dialect's placeholder (`?` or `$n`). */
export function insertRow(table: string, columns: Columns, placeholder: (position: number) => string): { sql: string; values: unknown[] } {
  const names = Object.keys(columns);
  const marks = names.map((_, index) => placeholder(index + 1));
  return { sql: `INSERT INTO ${table} (${names.join(', ')}) VALUES (${marks.join(', ')})`, values: Object.values(columns) };
}

export function modelColumns(model: ModelRecord): Columns {
  return {
    id: model.id,
    name: model.name,
    version: model.version,
    container_id: model.containerId,
    format: model.format,
    created_at: model.createdAt,
    not_after: model.notAfter,
    entries: json(model.entries),
    stanzas: json(model.stanzas),
    size: model.size,
    sha256: model.sha256,
    payload_digest: model.payloadDigest,
    signature_key_id: model.signatureKeyId,
    storage_kind: model.storage.kind,
    storage_ref: model.storage.kind === 'file' ? model.storage.path : model.storage.url,
    registered_at: model.registeredAt,
    header: model.header && Buffer.from(model.header),
  };
}

export function deviceColumns(device: DeviceRecord): Columns {
  return {
    id: device.id,
    key_type: device.keyType,
    public_key_pem: device.publicKeyPem,
    key_id: device.keyId,
    labels: json(device.labels),
    registered_at: device.registeredAt,
    revoked_at: device.revokedAt,
    revoked_reason: device.revokedReason,
  };
}

/** An audit entry's columns, from its fields with the absent ones as null (`auditFields` in store-rows.ts). */
export function auditColumns(record: Required<AuditInput>): Columns {
  return {
    at: record.at,
    actor: record.actor,
    action: record.action,
    outcome: record.outcome,
    device_id: record.deviceId,
    model_id: record.modelId,
    grant_id: record.grantId,
    reason: record.reason,
    remote: record.remote,
  };
}

export function pcrPolicyColumns(policy: Omit<PcrPolicyRecord, 'values'>): Columns {
  return {
    id: policy.id,
    subject_kind: policy.subject.kind,
    subject_value: policy.subject.value,
    pcrs: policy.pcrs,
    tofu: policy.tofu,
    note: policy.note,
    created_at: policy.createdAt,
    removed_at: policy.removedAt,
  };
}

export function grantColumns(grant: GrantRecord): Columns {
  return {
    id: grant.id,
    subject_kind: grant.subject.kind,
    subject_value: grant.subject.value,
    subject_key_id: grant.subject.kind === 'device' ? grant.subject.keyId : null,
    model_name: grant.modelName,
    model_version: grant.modelVersion,
    not_after: grant.notAfter,
    max_releases: grant.maxReleases,
    releases: grant.releases,
    max_releases_per_device: grant.maxReleasesPerDevice,
    created_at: grant.createdAt,
    revoked_at: grant.revokedAt,
  };
}

export function enrolmentTokenColumns(token: EnrolmentTokenRecord): Columns {
  return {
    id: token.id,
    token_hash: token.tokenHash,
    labels: json(token.labels),
    expires_at: token.expiresAt,
    max_uses: token.maxUses,
    uses: token.uses,
    device_id: token.deviceId,
    device_id_pattern: token.deviceIdPattern,
    require_attestation: token.requireAttestation,
    allow_missing_ek_certificate: token.allowMissingEkCertificate,
    created_at: token.createdAt,
    revoked_at: token.revokedAt,
  };
}

export function attestationColumns(record: DeviceAttestationRecord): Columns {
  return {
    device_id: record.deviceId,
    ek_public: Buffer.from(record.ekPublic),
    ek_name: record.ekName,
    ek_certificate: record.ekCertificate && Buffer.from(record.ekCertificate),
    ek_verification: record.ekVerification,
    ek_issuer: record.ekIssuer,
    ak_public: Buffer.from(record.akPublic),
    ak_name: record.akName,
    enrolled_at: record.enrolledAt,
    reset_count: record.counters?.resetCount ?? null,
    restart_count: record.counters?.restartCount ?? null,
    last_quote: record.lastQuote && json(record.lastQuote),
    last_refused: record.lastRefused && json(record.lastRefused),
  };
}

/** SQLite's INSERT: `?` placeholders, booleans as the 1 and 0 its columns hold (it binds no booleans). */
export function sqliteInsert(table: string, columns: Columns): { sql: string; values: unknown[] } {
  const { sql, values } = insertRow(table, columns, () => '?');
  return { sql, values: values.map((value) => (typeof value === 'boolean' ? Number(value) : value)) };
}

/** PostgreSQL's INSERT: `$n` placeholders. */
export function postgresInsert(table: string, columns: Columns): { sql: string; values: unknown[] } {
  return insertRow(table, columns, (position) => `$${position}`);
}
