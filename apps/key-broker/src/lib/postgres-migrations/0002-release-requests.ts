/** PostgreSQL step 0002: key releases by the device's request id (sqlite-steps/3-release-requests.ts). */
export const RELEASE_REQUESTS = {
  id: '0002-release-requests',
  sql: `
CREATE TABLE release_requests (
  device_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  model_id TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (device_id, request_id)
);
CREATE INDEX release_requests_by_time ON release_requests (at);
`,
} as const;
