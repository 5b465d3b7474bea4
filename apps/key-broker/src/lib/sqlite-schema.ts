/** Schema of the embedded store. README "Postgres mapping" gives the same tables for PostgreSQL. */
export const SCHEMA_VERSION = 1;

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
  model_name TEXT NOT NULL,
  model_version TEXT,
  not_after INTEGER NOT NULL,
  max_releases INTEGER NOT NULL CHECK (max_releases >= 0),
  releases INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  CHECK (releases <= max_releases)
);
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
  created_at INTEGER NOT NULL
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
