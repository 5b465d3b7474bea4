/** PostgreSQL step 0001: the broker's tables as of SQLite schema version 2 (sqlite-schema.ts). */
export const BROKER_SCHEMA = {
  id: '0001-broker-schema',
  sql: `
CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL
);
CREATE TABLE models (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  container_id TEXT NOT NULL,
  format TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  not_after BIGINT,
  entries JSONB NOT NULL,
  stanzas JSONB NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT,
  payload_digest TEXT NOT NULL,
  signature_key_id TEXT,
  storage_kind TEXT NOT NULL CHECK (storage_kind IN ('file', 'url')),
  storage_ref TEXT NOT NULL,
  registered_at BIGINT NOT NULL,
  header BYTEA,
  UNIQUE (name, version)
);
CREATE INDEX models_by_name ON models (name, registered_at);
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  key_type TEXT NOT NULL CHECK (key_type IN ('tpm-ecdh', 'tpm-rsa')),
  public_key_pem TEXT NOT NULL,
  key_id TEXT NOT NULL,
  labels JSONB NOT NULL,
  registered_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_reason TEXT
);
CREATE INDEX devices_by_key ON devices (key_id);
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('device', 'label')),
  subject_value TEXT NOT NULL,
  subject_key_id TEXT,
  model_name TEXT NOT NULL,
  model_version TEXT,
  not_after BIGINT NOT NULL,
  max_releases INTEGER NOT NULL CHECK (max_releases >= 0),
  releases INTEGER NOT NULL DEFAULT 0,
  max_releases_per_device INTEGER,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  CHECK (releases <= max_releases)
);
CREATE INDEX grants_by_subject ON grants (subject_kind, subject_value);
CREATE TABLE grant_device_releases (
  grant_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  releases INTEGER NOT NULL,
  PRIMARY KEY (grant_id, device_id)
);
CREATE TABLE revoked_keys (
  key_id TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  revoked_at BIGINT NOT NULL,
  reason TEXT
);
CREATE TABLE used_nonces (
  nonce TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX used_nonces_by_expiry ON used_nonces (expires_at);
CREATE TABLE enrolment_tokens (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  labels JSONB NOT NULL,
  expires_at BIGINT NOT NULL,
  max_uses INTEGER NOT NULL,
  uses INTEGER NOT NULL DEFAULT 0,
  device_id TEXT,
  device_id_pattern TEXT,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE TABLE audit (
  id BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'error')),
  device_id TEXT,
  model_id TEXT,
  grant_id TEXT,
  reason TEXT,
  remote TEXT
);
CREATE INDEX audit_by_device ON audit (device_id, id);
CREATE FUNCTION ovseal_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION ovseal_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION ovseal_audit_append_only();
`,
} as const;
