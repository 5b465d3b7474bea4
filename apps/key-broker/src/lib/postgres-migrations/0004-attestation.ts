/**
 * PostgreSQL step 0004: TPM attestation (SQLite's schema version 3: MIGRATION_FROM_2 and
 * ATTESTATION_SCHEMA in sqlite-schema.ts) — enrolment tokens that require attestation, each attested
 * device's EK and proven AK with its last quotes and counters baseline, PCR policies and their
 * allowed value sets.
 */
export const ATTESTATION = {
  id: '0004-attestation',
  sql: `
ALTER TABLE enrolment_tokens ADD COLUMN require_attestation BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE enrolment_tokens ADD COLUMN allow_missing_ek_certificate BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE device_attestation (
  device_id TEXT PRIMARY KEY,
  ek_public BYTEA NOT NULL,
  ek_name TEXT NOT NULL UNIQUE,
  ek_certificate BYTEA,
  ek_verification TEXT NOT NULL CHECK (ek_verification IN ('certificate', 'no-certificate')),
  ek_issuer TEXT,
  ak_public BYTEA NOT NULL,
  ak_name TEXT NOT NULL,
  enrolled_at BIGINT NOT NULL,
  reset_count BIGINT,
  restart_count BIGINT,
  last_quote JSONB,
  last_refused JSONB
);
CREATE TABLE pcr_policies (
  id TEXT PRIMARY KEY,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('device', 'label')),
  subject_value TEXT NOT NULL,
  pcrs TEXT NOT NULL,
  tofu TEXT NOT NULL CHECK (tofu IN ('off', 'first-device', 'each-device')),
  note TEXT,
  created_at BIGINT NOT NULL,
  removed_at BIGINT
);
CREATE INDEX pcr_policies_by_subject ON pcr_policies (subject_kind, subject_value);
CREATE TABLE pcr_values (
  id TEXT PRIMARY KEY,
  policy_id TEXT NOT NULL,
  device_id TEXT,
  pcr_values JSONB NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('admin', 'tofu', 'accepted')),
  note TEXT,
  added_at BIGINT NOT NULL,
  removed_at BIGINT
);
CREATE INDEX pcr_values_by_policy ON pcr_values (policy_id, device_id);
`,
} as const;
