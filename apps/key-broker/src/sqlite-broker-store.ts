import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BrokerError } from './errors.js';
import type {
  AttestedEnrolment,
  AuditInput,
  AuditRecord,
  BrokerStore,
  DeviceAttestationRecord,
  DeviceRecord,
  EnrolmentRefusal,
  EnrolmentTokenRecord,
  GrantRecord,
  ModelRecord,
  PcrPolicyRecord,
  PcrValuesRecord,
  QuoteRecord,
  ReleaseOptions,
  ReleaseOutcome,
  ReleaseRequestRecord,
} from './store.js';
import { RELEASE_REQUEST_TTL_MS } from './store.js';
import { Checkpointer } from './lib/checkpointer.js';
import {
  auditFields,
  auditFromRow,
  deviceFromRow,
  grantFromRow,
  json,
  modelFromRow,
  releaseRequestFromRow,
  tokenFromRow,
  type Row,
} from './lib/store-rows.js';
import { auditColumns, deviceColumns, enrolmentTokenColumns, grantColumns, modelColumns, sqliteInsert } from './lib/store-inserts.js';
import { tokenAllows } from './lib/enrolment.js';
import { SqliteAttestationTables } from './lib/sqlite-attestation.js';
import {
  ATTESTATION_SCHEMA,
  BASE_SCHEMA_VERSION,
  MIGRATION_FROM_1,
  MIGRATION_FROM_2,
  SCHEMA,
  SCHEMA_STEPS,
  SCHEMA_VERSION,
} from './lib/sqlite-schema.js';

/** Options of {@link SqliteBrokerStore}. */
export interface SqliteBrokerStoreOptions {
  /**
   * `normal` (default): WAL with `synchronous=NORMAL` — every committed transaction survives a
   * process crash or restart; a power loss may drop the last few. `full`: fsync at each commit
   * (nothing lost on power loss; each key release then waits for the disk).
   */
  readonly durability?: 'normal' | 'full';
  /**
   * WAL checkpoints run in a worker thread on their own connection every this many ms (default
   * 1000), instead of inside whichever commit crosses SQLite's threshold: a checkpoint copies pages
   * and fsyncs, and on the event loop it would stall every request behind it. 0 keeps SQLite's
   * automatic checkpoints.
   */
  readonly checkpointIntervalMs?: number;
}

/** Thrown inside a transaction to roll it back with a refusal. */
class Refused extends Error {
  constructor(readonly reason: 'releases_exhausted' | 'device_releases_exhausted') {
    super(reason);
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (
    (error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}

/**
 * The embedded broker store: one SQLite file (better-sqlite3, WAL), state kept across restarts.
 * The audit table is append-only (triggers refuse UPDATE and DELETE). Calls run synchronously
 * under the async interface; each is one short transaction.
 *
 * @example
 * ```ts
 * const store = SqliteBrokerStore.open('/var/lib/ovseal-broker/broker.db');
 * const broker = await startKeyBroker({ store, dataDir: '/var/lib/ovseal-broker', … });
 * ```
 */
export class SqliteBrokerStore implements BrokerStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #checkpointer: Checkpointer | undefined;
  readonly #attestation: SqliteAttestationTables;

  private constructor(path: string, db: Database.Database, checkpointer: Checkpointer | undefined) {
    this.path = path;
    this.#db = db;
    this.#checkpointer = checkpointer;
    this.#attestation = new SqliteAttestationTables((sql) => this.#statement(sql));
  }

  /** Opens (creating if needed, mode 0600) the database file and migrates its schema. */
  static open(path: string, options: SqliteBrokerStoreOptions = {}): SqliteBrokerStore {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let db: Database.Database;
    try {
      db = new Database(path);
      chmodSync(path, 0o600);
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db);
    } catch (cause) {
      throw new BrokerError('ERR_BROKER_STORE', `cannot open the broker database ${path}: ${(cause as Error).message}`, { cause });
    }
    const interval = options.checkpointIntervalMs ?? 1000;
    if (interval > 0) db.pragma('wal_autocheckpoint = 0');
    return new SqliteBrokerStore(path, db, interval > 0 ? new Checkpointer(path, interval) : undefined);
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #insert(sql: string, params: unknown[], what: string): void {
    try {
      this.#statement(sql).run(...params);
    } catch (error) {
      if (isUniqueViolation(error)) throw new BrokerError('ERR_BROKER_CONFLICT', `${what} already exists`);
      throw error;
    }
  }

  async secret(name: string, create: () => Uint8Array): Promise<Uint8Array> {
    this.#statement('INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(name, Buffer.from(create()));
    const row = this.#statement('SELECT value FROM secrets WHERE name = ?').get(name) as { value: Buffer };
    return new Uint8Array(row.value);
  }

  async insertModel(model: ModelRecord): Promise<void> {
    const { sql, values } = sqliteInsert('models', modelColumns(model));
    this.#insert(sql, values, `model ${model.id}`);
  }

  async getModel(id: string): Promise<ModelRecord | undefined> {
    const row = this.#statement('SELECT * FROM models WHERE id = ?').get(id) as Row | undefined;
    return row && modelFromRow(row);
  }

  async listModels(): Promise<ModelRecord[]> {
    return (this.#statement('SELECT * FROM models ORDER BY registered_at, id').all() as Row[]).map(modelFromRow);
  }

  async insertDevice(device: DeviceRecord): Promise<void> {
    const { sql, values } = sqliteInsert('devices', deviceColumns(device));
    this.#insert(sql, values, `device ${device.id}`);
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    const row = this.#statement('SELECT * FROM devices WHERE id = ?').get(id) as Row | undefined;
    return row && deviceFromRow(row);
  }

  async listDevices(): Promise<DeviceRecord[]> {
    return (this.#statement('SELECT * FROM devices ORDER BY registered_at, id').all() as Row[]).map(deviceFromRow);
  }

  async revokeDevice(id: string, at: number, reason: string): Promise<DeviceRecord | undefined> {
    const revoke = this.#db.transaction(() => {
      const row = this.#statement('SELECT * FROM devices WHERE id = ?').get(id) as Row | undefined;
      if (!row) return undefined;
      const keyId = String(row['key_id']);
      this.#statement(
        'INSERT INTO revoked_keys (key_id, device_id, revoked_at, reason) VALUES (?, ?, ?, ?) ON CONFLICT (key_id) DO NOTHING',
      ).run(keyId, id, at, reason);
      this.#statement('UPDATE devices SET revoked_at = ?, revoked_reason = ? WHERE (id = ? OR key_id = ?) AND revoked_at IS NULL').run(
        at,
        reason,
        id,
        keyId,
      );
      this.#attestation.revokeEk(id, at, reason);
      return deviceFromRow(this.#statement('SELECT * FROM devices WHERE id = ?').get(id) as Row);
    });
    return revoke.immediate();
  }

  async isKeyRevoked(keyId: string): Promise<boolean> {
    return this.#statement('SELECT 1 FROM revoked_keys WHERE key_id = ?').get(keyId) !== undefined;
  }

  async insertGrant(grant: GrantRecord): Promise<void> {
    const { sql, values } = sqliteInsert('grants', grantColumns(grant));
    this.#insert(sql, values, `grant ${grant.id}`);
  }

  async getGrant(id: string): Promise<GrantRecord | undefined> {
    const row = this.#statement('SELECT * FROM grants WHERE id = ?').get(id) as Row | undefined;
    return row && grantFromRow(row);
  }

  async listGrants(): Promise<GrantRecord[]> {
    return (this.#statement('SELECT * FROM grants ORDER BY created_at, id').all() as Row[]).map(grantFromRow);
  }

  async revokeGrant(id: string, at: number): Promise<boolean> {
    if (!(await this.getGrant(id))) return false;
    this.#statement('UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
    return true;
  }

  async grantsForDevice(device: DeviceRecord): Promise<GrantRecord[]> {
    const rows = this.#statement(
      `SELECT grants.*, COALESCE(r.releases, 0) AS device_releases FROM grants
        LEFT JOIN grant_device_releases r ON r.grant_id = grants.id AND r.device_id = ?
        WHERE (subject_kind = 'device' AND subject_value = ? AND subject_key_id = ?)
        OR (subject_kind = 'label' AND subject_value IN (SELECT value FROM json_each(?))) ORDER BY not_after, id`,
    ).all(device.id, device.id, device.keyId, json(device.labels)) as Row[];
    return rows.map(grantFromRow);
  }

  async recordRelease(
    grantId: string,
    deviceId: string,
    now: number,
    audit: AuditInput,
    options: ReleaseOptions = {},
  ): Promise<ReleaseOutcome> {
    const { requestId, nonce } = options;
    const release = this.#db.transaction((): ReleaseOutcome => {
      if (nonce !== undefined && !this.#useNonce(nonce.nonce, deviceId, nonce.expiresAt)) return { ok: false, reason: 'replayed' };
      if (requestId !== undefined) {
        const fresh =
          this.#statement(
            'INSERT INTO release_requests (device_id, request_id, grant_id, model_id, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
          ).run(deviceId, requestId, grantId, audit.modelId ?? '', now).changes === 1;
        if (!fresh)
          return {
            ok: true,
            grant: grantFromRow(this.#statement('SELECT * FROM grants WHERE id = ?').get(grantId) as Row),
            repeated: true,
          };
      }
      const changed = this.#statement(
        'UPDATE grants SET releases = releases + 1 WHERE id = ? AND revoked_at IS NULL AND not_after > ? AND releases < max_releases',
      ).run(grantId, now).changes;
      if (changed !== 1) throw new Refused('releases_exhausted');
      const grant = grantFromRow(this.#statement('SELECT * FROM grants WHERE id = ?').get(grantId) as Row);
      const counted = this.#statement(
        `INSERT INTO grant_device_releases (grant_id, device_id, releases) VALUES (?, ?, 1)
          ON CONFLICT (grant_id, device_id) DO UPDATE SET releases = releases + 1 WHERE ? IS NULL OR releases < ?`,
      ).run(grantId, deviceId, grant.maxReleasesPerDevice, grant.maxReleasesPerDevice).changes;
      if (counted !== 1 || (grant.maxReleasesPerDevice !== null && grant.maxReleasesPerDevice < 1))
        throw new Refused('device_releases_exhausted');
      this.#appendAudit(audit);
      return { ok: true, grant };
    });
    try {
      return release.immediate();
    } catch (error) {
      if (error instanceof Refused) return { ok: false, reason: error.reason };
      throw error;
    }
  }

  async findReleaseRequest(deviceId: string, requestId: string): Promise<ReleaseRequestRecord | undefined> {
    const row = this.#statement('SELECT * FROM release_requests WHERE device_id = ? AND request_id = ?').get(deviceId, requestId) as
      Row | undefined;
    return row && releaseRequestFromRow(row);
  }

  #useNonce(nonce: string, deviceId: string, expiresAt: number): boolean {
    return (
      this.#statement('INSERT INTO used_nonces (nonce, device_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (nonce) DO NOTHING').run(
        nonce,
        deviceId,
        expiresAt,
      ).changes === 1
    );
  }

  async useNonce(nonce: string, deviceId: string, expiresAt: number): Promise<boolean> {
    return this.#useNonce(nonce, deviceId, expiresAt);
  }

  async purgeNonces(now: number): Promise<number> {
    this.#statement('DELETE FROM release_requests WHERE at < ?').run(now - RELEASE_REQUEST_TTL_MS);
    return this.#statement('DELETE FROM used_nonces WHERE expires_at < ?').run(now).changes;
  }

  async insertEnrolmentToken(token: EnrolmentTokenRecord): Promise<void> {
    const { sql, values } = sqliteInsert('enrolment_tokens', enrolmentTokenColumns(token));
    this.#insert(sql, values, `enrolment token ${token.id}`);
  }

  async listEnrolmentTokens(): Promise<EnrolmentTokenRecord[]> {
    return (this.#statement('SELECT * FROM enrolment_tokens ORDER BY created_at, id').all() as Row[]).map(tokenFromRow);
  }

  async revokeEnrolmentToken(id: string, at: number): Promise<boolean> {
    return this.#statement('UPDATE enrolment_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?').run(at, id).changes === 1;
  }

  /** The token, if it would enrol this device now; else the reason (the checks shared by enrolment and its first step). */
  #checkEnrolment(
    tokenHash: string,
    device: DeviceRecord,
    now: number,
  ): { ok: true; token: EnrolmentTokenRecord } | { ok: false; reason: EnrolmentRefusal } {
    const row = this.#statement('SELECT * FROM enrolment_tokens WHERE token_hash = ?').get(tokenHash) as Row | undefined;
    if (!row) return { ok: false, reason: 'invalid_token' };
    const token = tokenFromRow(row);
    if (token.revokedAt !== null) return { ok: false, reason: 'token_revoked' };
    if (token.expiresAt <= now) return { ok: false, reason: 'token_expired' };
    if (token.uses >= token.maxUses) return { ok: false, reason: 'token_used_up' };
    if (!tokenAllows(token, device.id)) return { ok: false, reason: 'device_id_not_allowed' };
    if (this.#statement('SELECT 1 FROM revoked_keys WHERE key_id = ?').get(device.keyId)) return { ok: false, reason: 'key_revoked' };
    if (this.#statement('SELECT 1 FROM devices WHERE id = ?').get(device.id)) return { ok: false, reason: 'device_exists' };
    if (this.#statement('SELECT 1 FROM devices WHERE key_id = ?').get(device.keyId)) return { ok: false, reason: 'key_registered' };
    return { ok: true, token };
  }

  async peekEnrolment(tokenHash: string, device: DeviceRecord, now: number) {
    return this.#checkEnrolment(tokenHash, device, now);
  }

  async enrolDevice(tokenHash: string, device: DeviceRecord, now: number, audit: AuditInput, attested?: AttestedEnrolment) {
    type Outcome = { ok: true; device: DeviceRecord } | { ok: false; reason: EnrolmentRefusal };
    const enrol = this.#db.transaction((): Outcome => {
      const checked = this.#checkEnrolment(tokenHash, device, now);
      if (!checked.ok) return checked;
      const { token } = checked;
      if (token.requireAttestation && !attested) return { ok: false, reason: 'attestation_required' };
      const refusal = attested && this.#attestation.refusal(attested.attestation);
      if (refusal) return { ok: false, reason: refusal };
      const enrolled: DeviceRecord = { ...device, labels: token.labels };
      this.#statement('UPDATE enrolment_tokens SET uses = uses + 1 WHERE id = ?').run(token.id);
      const row = sqliteInsert('devices', deviceColumns(enrolled));
      this.#statement(row.sql).run(...row.values);
      this.#appendAudit({ ...audit, actor: `enrolment:${token.id}` });
      if (attested) this.#insertAttested(attested);
      return { ok: true, device: enrolled };
    });
    return enrol.immediate();
  }

  /** The attestation record, then each trust-on-first-use capture that still finds its scope empty (audited). */
  #insertAttested(attested: AttestedEnrolment): void {
    this.#attestation.insert(attested.attestation);
    for (const capture of attested.captures) {
      if (this.#attestation.addValues(capture.values, true)) this.#appendAudit(capture.audit);
    }
  }

  async getAttestation(deviceId: string): Promise<DeviceAttestationRecord | undefined> {
    return this.#attestation.get(deviceId);
  }

  async recordQuote(deviceId: string, quote: QuoteRecord, outcome: 'accepted' | 'refused' | 'baseline'): Promise<boolean> {
    return this.#attestation.recordQuote(deviceId, quote, outcome);
  }

  async insertPcrPolicy(policy: Omit<PcrPolicyRecord, 'values'>): Promise<void> {
    try {
      this.#attestation.insertPolicy(policy);
    } catch (error) {
      if (isUniqueViolation(error)) throw new BrokerError('ERR_BROKER_CONFLICT', `PCR policy ${policy.id} exists`, { cause: error });
      throw error;
    }
  }

  async getPcrPolicy(id: string): Promise<PcrPolicyRecord | undefined> {
    return this.#attestation.getPolicy(id);
  }

  async listPcrPolicies(): Promise<PcrPolicyRecord[]> {
    return this.#attestation.listPolicies();
  }

  async removePcrPolicy(id: string, at: number): Promise<boolean> {
    return this.#attestation.removePolicy(id, at);
  }

  async pcrPoliciesForDevice(device: Pick<DeviceRecord, 'id' | 'labels'>): Promise<PcrPolicyRecord[]> {
    return this.#attestation.policiesForDevice(device);
  }

  async addPcrValues(values: PcrValuesRecord, onlyIfNone = false): Promise<boolean> {
    return this.#attestation.addValues(values, onlyIfNone);
  }

  async removePcrValues(policyId: string, valuesId: string, at: number): Promise<boolean> {
    return this.#attestation.removeValues(policyId, valuesId, at);
  }

  #appendAudit(entry: AuditInput): AuditRecord {
    const record = auditFields(entry);
    const { sql, values } = sqliteInsert('audit', auditColumns(record));
    const { lastInsertRowid } = this.#statement(sql).run(...values);
    return { id: Number(lastInsertRowid), ...record };
  }

  async appendAudit(entry: AuditInput): Promise<AuditRecord> {
    return this.#appendAudit(entry);
  }

  async listAudit(options: { after?: number; limit: number; deviceId?: string }): Promise<AuditRecord[]> {
    const rows =
      options.deviceId === undefined
        ? this.#statement('SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?').all(options.after ?? 0, options.limit)
        : this.#statement('SELECT * FROM audit WHERE id > ? AND device_id = ? ORDER BY id LIMIT ?').all(
            options.after ?? 0,
            options.deviceId,
            options.limit,
          );
    return (rows as Row[]).map(auditFromRow);
  }

  async close(): Promise<void> {
    await this.#checkpointer?.close();
    if (this.#db.open) this.#db.close();
  }
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  if (row && row.version > SCHEMA_VERSION)
    throw new Error(`the database has schema version ${row.version}; this broker knows ${SCHEMA_VERSION}`);
  if (row?.version === SCHEMA_VERSION) return;
  db.transaction(() => {
    if (row?.version === 1) db.exec(MIGRATION_FROM_1);
    if (row !== undefined && row.version <= 2) db.exec(MIGRATION_FROM_2);
    db.exec(SCHEMA);
    db.exec(ATTESTATION_SCHEMA);
    for (const step of SCHEMA_STEPS) if (step.version > (row?.version ?? BASE_SCHEMA_VERSION)) db.exec(step.sql);
    db.prepare('DELETE FROM schema_version').run();
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
  }).immediate();
}
