import { RELEASE_REQUESTS_STEP } from './sqlite-steps/4-release-requests.js';

/**
 * Schema of the embedded store: version 3 below (SCHEMA and ATTESTATION_SCHEMA, with the migrations
 * from 1 and 2), then additive steps, each in its own file under sqlite-steps/. The PostgreSQL
 * store has the same tables (postgres-migrations/).
 */
export const SCHEMA_STEPS: readonly { readonly version: number; readonly sql: string }[] = [RELEASE_REQUESTS_STEP];
export const BASE_SCHEMA_VERSION = 3;
export const SCHEMA_VERSION = Math.max(BASE_SCHEMA_VERSION, ...SCHEMA_STEPS.map((step) => step.version));

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS secrets (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  container_id TEXT NOT NULL,
  format TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  not_after INTEGER,
  entries TEXT NOT NULL,
  stanzas TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT,
  payload_digest TEXT NOT NULL,
  signature_key_id TEXT,
  storage_kind TEXT NOT NULL CHECK (storage_kind IN ('file', 'url')),
  storage_ref TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  header BLOB,
  UNIQUE (name, version)
);
CREATE INDEX IF NOT EXISTS models_by_name ON models (name, registered_at);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  key_type TEXT NOT NULL CHECK (key_type IN ('tpm-ecdh', 'tpm-rsa')),
  public_key_pem TEXT NOT NULL,
  key_id TEXT NOT NULL,
  labels TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  revoked_at INTEGER,
  revoked_reason TEXT
);
CREATE TABLE IF NOT EXISTS grants (
  id TEXT PRIMARY KEY,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('device', 'label')),
  subject_value TEXT NOT NULL,
  subject_key_id TEXT,
  model_name TEXT NOT NULL,
  model_version TEXT,
  not_after INTEGER NOT NULL,
  max_releases INTEGER NOT NULL CHECK (max_releases >= 0),
  releases INTEGER NOT NULL DEFAULT 0,
  max_releases_per_device INTEGER,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  CHECK (releases <= max_releases)
);
CREATE TABLE IF NOT EXISTS grant_device_releases (
  grant_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  releases INTEGER NOT NULL,
  PRIMARY KEY (grant_id, device_id)
);
CREATE TABLE IF NOT EXISTS revoked_keys (
  key_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  revoked_at INTEGER NOT NULL,
  reason TEXT
);
CREATE INDEX IF NOT EXISTS devices_by_key ON devices (key_id);
CREATE INDEX IF NOT EXISTS grants_by_subject ON grants (subject_kind, subject_value);
CREATE TABLE IF NOT EXISTS used_nonces (
  nonce TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS used_nonces_by_expiry ON used_nonces (expires_at);
CREATE TABLE IF NOT EXISTS enrolment_tokens (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  labels TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  max_uses INTEGER NOT NULL,
  uses INTEGER NOT NULL DEFAULT 0,
  device_id TEXT,
  device_id_pattern TEXT,
  require_attestation INTEGER NOT NULL DEFAULT 0,
  allow_missing_ek_certificate INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'error')),
  device_id TEXT,
  model_id TEXT,
  grant_id TEXT,
  reason TEXT,
  remote TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_device ON audit (device_id, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`;

/**
 * From version 1: headers kept for key releases, device grants bound to the device's key (grants
 * to a device id with no device match nothing), per-device release caps, revoked keys, enrolment
 * tokens that fix the device id and can be revoked.
 */
export const MIGRATION_FROM_1 = `
ALTER TABLE models ADD COLUMN header BLOB;
ALTER TABLE grants ADD COLUMN subject_key_id TEXT;
ALTER TABLE grants ADD COLUMN max_releases_per_device INTEGER;
UPDATE grants SET subject_key_id = (SELECT key_id FROM devices WHERE devices.id = grants.subject_value) WHERE subject_kind = 'device';
ALTER TABLE enrolment_tokens ADD COLUMN device_id TEXT;
ALTER TABLE enrolment_tokens ADD COLUMN device_id_pattern TEXT;
ALTER TABLE enrolment_tokens ADD COLUMN revoked_at INTEGER;
`;

/** From version 2: enrolment tokens that require attestation, or allow it without an EK certificate. */
export const MIGRATION_FROM_2 = `
ALTER TABLE enrolment_tokens ADD COLUMN require_attestation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enrolment_tokens ADD COLUMN allow_missing_ek_certificate INTEGER NOT NULL DEFAULT 0;
`;

/**
 * Attestation (version 3): each attested device's EK and proven AK, its last accepted and refused
 * quotes and the counters baseline; PCR policies per label or device, and their allowed value sets.
 */
export const ATTESTATION_SCHEMA = `
CREATE TABLE IF NOT EXISTS device_attestation (
  device_id TEXT PRIMARY KEY,
  ek_public BLOB NOT NULL,
  ek_name TEXT NOT NULL UNIQUE,
  ek_certificate BLOB,
  ek_verification TEXT NOT NULL CHECK (ek_verification IN ('certificate', 'no-certificate')),
  ek_issuer TEXT,
  ak_public BLOB NOT NULL,
  ak_name TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL,
  reset_count INTEGER,
  restart_count INTEGER,
  last_quote TEXT,
  last_refused TEXT
);
CREATE TABLE IF NOT EXISTS pcr_policies (
  id TEXT PRIMARY KEY,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('device', 'label')),
  subject_value TEXT NOT NULL,
  pcrs TEXT NOT NULL,
  tofu TEXT NOT NULL CHECK (tofu IN ('off', 'first-device', 'each-device')),
  note TEXT,
  created_at INTEGER NOT NULL,
  removed_at INTEGER
);
CREATE INDEX IF NOT EXISTS pcr_policies_by_subject ON pcr_policies (subject_kind, subject_value);
CREATE TABLE IF NOT EXISTS pcr_values (
  id TEXT PRIMARY KEY,
  policy_id TEXT NOT NULL,
  device_id TEXT,
  pcr_values TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('admin', 'tofu', 'accepted')),
  note TEXT,
  added_at INTEGER NOT NULL,
  removed_at INTEGER
);
CREATE INDEX IF NOT EXISTS pcr_values_by_policy ON pcr_values (policy_id, device_id);
`;
