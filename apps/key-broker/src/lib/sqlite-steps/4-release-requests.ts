/**
 * Schema step 4 (SQLite): key releases by the device's request id, so a retry — after a lost
 * answer, to this broker or another one — is not counted twice. Additive.
 */
export const RELEASE_REQUESTS_STEP = {
  version: 4,
  sql: `
CREATE TABLE IF NOT EXISTS release_requests (
  device_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  model_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (device_id, request_id)
);
CREATE INDEX IF NOT EXISTS release_requests_by_time ON release_requests (at);
`,
} as const;
