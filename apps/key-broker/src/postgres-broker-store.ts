import pg from 'pg';
import { BrokerError } from './errors.js';
import type {
  AuditInput,
  AuditRecord,
  BrokerStore,
  DeviceRecord,
  EnrolmentRefusal,
  EnrolmentTokenRecord,
  GrantRecord,
  ModelRecord,
  ReleaseOptions,
  ReleaseOutcome,
  ReleaseRequestRecord,
  AttestedEnrolment,
  DeviceAttestationRecord,
  PcrPolicyRecord,
  PcrValuesRecord,
  QuoteRecord,
} from './store.js';
import { RELEASE_REQUEST_TTL_MS } from './store.js';
import { tokenAllows } from './lib/enrolment.js';
import { POSTGRES_MIGRATIONS, type PostgresMigration } from './lib/postgres-migrations/index.js';
import { isStoreUnavailable, storeUnavailable } from './lib/postgres-errors.js';
import {
  attestationFromRow,
  auditFields,
  auditFromRow,
  deviceFromRow,
  grantFromRow,
  json,
  modelFromRow,
  policyFromRow,
  releaseRequestFromRow,
  tokenFromRow,
  valuesFromRow,
  type Row,
} from './lib/store-rows.js';
import {
  attestationColumns,
  auditColumns,
  deviceColumns,
  enrolmentTokenColumns,
  grantColumns,
  modelColumns,
  pcrPolicyColumns,
  postgresInsert,
} from './lib/store-inserts.js';

/** Options of {@link PostgresBrokerStore.open}. */
export interface PostgresBrokerStoreOptions {
  /**
   * `postgres://user@host:5432/db?sslmode=require` (node-postgres syntax). Keep the password out of
   * it where others can read it: `PGPASSWORD` or `~/.pgpass` work too.
   */
  readonly connectionString: string;
  /** Connections in the pool (default 10). With N brokers the database sees up to N × this. */
  readonly maxConnections?: number;
  /** Waiting for a connection (a new one, or a free one from the pool): default 5000 ms. */
  readonly connectionTimeoutMs?: number;
  /** Server-side limit per statement, and the client's limit per query: default 10 000 ms. */
  readonly statementTimeoutMs?: number;
  /** Idle connections are closed after this long (default 30 000 ms). */
  readonly idleTimeoutMs?: number;
  /** Called with every error of an idle pooled connection (the server went away); the pool drops it. */
  readonly onConnectionError?: (error: Error) => void;
}

type Client = pg.PoolClient;

/** Key of the advisory lock migrations run under (any constant: the same in every broker). */
const MIGRATION_LOCK = 0x6f7673_65616c; // "ovs" "eal"

/** Thrown inside a transaction to roll it back with a refusal. */
class Refused<T extends string> extends Error {
  constructor(readonly reason: T) {
    super(reason);
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

/**
 * The broker store on PostgreSQL, for several brokers behind a load balancer: one database, the
 * same tables as the SQLite store (JSONB, BYTEA, BIGINT times), schema steps applied at open under
 * an advisory lock (several brokers may start at once), every atomic method one transaction whose
 * guards make it exact across brokers (row locks on the grant and the enrolment token, an advisory
 * lock per device key), a pool with timeouts. When the database cannot be reached every call
 * throws `ERR_BROKER_STORE_UNAVAILABLE` (the broker answers 503 with `Retry-After`), and the pool
 * reconnects by itself when it is back.
 *
 * @example
 * ```ts
 * const store = await PostgresBrokerStore.open({ connectionString: 'postgres://broker@db.internal/ovseal' });
 * const broker = await startKeyBroker({ store, dataDir: '/var/lib/ovseal-broker', … });
 * ```
 */
export class PostgresBrokerStore implements BrokerStore {
  readonly #pool: pg.Pool;
  #closed = false;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects, applies the schema steps this database lacks, and returns the store. */
  static async open(options: PostgresBrokerStoreOptions): Promise<PostgresBrokerStore> {
    const statementTimeout = options.statementTimeoutMs ?? 10_000;
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
      idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
      statement_timeout: statementTimeout,
      query_timeout: statementTimeout + 1_000,
      // A transaction left open by a broker that hangs must not hold its row locks for long.
      idle_in_transaction_session_timeout: statementTimeout,
      keepAlive: true,
      application_name: 'ovseal-key-broker',
    });
    // An idle connection whose server went away: the pool drops it; the next query opens another.
    pool.on('error', (error) => options.onConnectionError?.(error));
    const store = new PostgresBrokerStore(pool);
    try {
      await store.#transaction((client) => migrate(client, POSTGRES_MIGRATIONS));
    } catch (cause) {
      await pool.end().catch(() => {});
      if (cause instanceof BrokerError) throw cause;
      throw new BrokerError('ERR_BROKER_STORE', `cannot migrate the broker database: ${(cause as Error).message}`, { cause });
    }
    return store;
  }

  /** Schema steps applied to this database, in order (for operators and tests). */
  async appliedMigrations(): Promise<string[]> {
    return (await this.#query('SELECT id FROM schema_migrations ORDER BY id')).map((row) => String(row['id']));
  }

  async #query(sql: string, params: unknown[] = [], client?: Client): Promise<Row[]> {
    try {
      return (await (client ?? this.#pool).query(sql, params)).rows as Row[];
    } catch (error) {
      if (isStoreUnavailable(error)) throw storeUnavailable(error);
      throw error;
    }
  }

  /** One transaction on one pooled connection (READ COMMITTED: the guards are in the statements). */
  async #transaction<T>(work: (client: Client) => Promise<T>): Promise<T> {
    if (this.#closed) throw new BrokerError('ERR_BROKER_STORE', 'the store is closed');
    let client: Client;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw storeUnavailable(error);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      if (isStoreUnavailable(error)) broken = error as Error;
      else await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      if (broken) throw storeUnavailable(broken);
      throw error;
    } finally {
      // A connection that failed is destroyed, not returned to the pool.
      client.release(broken ?? false);
    }
  }

  async #insert(sql: string, params: unknown[], what: string): Promise<void> {
    try {
      await this.#query(sql, params);
    } catch (error) {
      if (isUniqueViolation(error)) throw new BrokerError('ERR_BROKER_CONFLICT', `${what} already exists`);
      throw error;
    }
  }

  async secret(name: string, create: () => Uint8Array): Promise<Uint8Array> {
    // Every broker races to create it; one insert wins and all of them read the winner.
    await this.#query('INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, Buffer.from(create())]);
    const [row] = await this.#query('SELECT value FROM secrets WHERE name = $1', [name]);
    return new Uint8Array(row!['value'] as Buffer);
  }

  async insertModel(model: ModelRecord): Promise<void> {
    const { sql, values } = postgresInsert('models', modelColumns(model));
    await this.#insert(sql, values, `model ${model.id}`);
  }

  async getModel(id: string): Promise<ModelRecord | undefined> {
    const [row] = await this.#query('SELECT * FROM models WHERE id = $1', [id]);
    return row && modelFromRow(row);
  }

  async listModels(): Promise<ModelRecord[]> {
    return (await this.#query('SELECT * FROM models ORDER BY registered_at, id')).map(modelFromRow);
  }

  async insertDevice(device: DeviceRecord): Promise<void> {
    const { sql, values } = postgresInsert('devices', deviceColumns(device));
    await this.#insert(sql, values, `device ${device.id}`);
  }

  async getDevice(id: string): Promise<DeviceRecord | undefined> {
    const [row] = await this.#query('SELECT * FROM devices WHERE id = $1', [id]);
    return row && deviceFromRow(row);
  }

  async listDevices(): Promise<DeviceRecord[]> {
    return (await this.#query('SELECT * FROM devices ORDER BY registered_at, id')).map(deviceFromRow);
  }

  async revokeDevice(id: string, at: number, reason: string): Promise<DeviceRecord | undefined> {
    return this.#transaction(async (client) => {
      const [row] = await this.#query('SELECT * FROM devices WHERE id = $1 FOR UPDATE', [id], client);
      if (!row) return undefined;
      const keyId = String(row['key_id']);
      await lockKey(client, keyId);
      await this.#query(
        'INSERT INTO revoked_keys (key_id, device_id, revoked_at, reason) VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING',
        [keyId, id, at, reason],
        client,
      );
      await this.#query(
        'UPDATE devices SET revoked_at = $1, revoked_reason = $2 WHERE (id = $3 OR key_id = $4) AND revoked_at IS NULL',
        [at, reason, id, keyId],
        client,
      );
      // The TPM goes with it: its EK never enrols again (an attested enrolment of it waits on this lock).
      const [attestation] = await this.#query('SELECT ek_name FROM device_attestation WHERE device_id = $1', [id], client);
      if (attestation) {
        await lockKey(client, `ek:${String(attestation['ek_name'])}`);
        await this.#query(
          "INSERT INTO revoked_keys (key_id, device_id, revoked_at, reason) VALUES ('ek:' || $1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING",
          [attestation['ek_name'], id, at, reason],
          client,
        );
      }
      const [revoked] = await this.#query('SELECT * FROM devices WHERE id = $1', [id], client);
      return deviceFromRow(revoked!);
    });
  }

  async isKeyRevoked(keyId: string): Promise<boolean> {
    return (await this.#query('SELECT 1 FROM revoked_keys WHERE key_id = $1', [keyId])).length > 0;
  }

  async insertGrant(grant: GrantRecord): Promise<void> {
    const { sql, values } = postgresInsert('grants', grantColumns(grant));
    await this.#insert(sql, values, `grant ${grant.id}`);
  }

  async getGrant(id: string): Promise<GrantRecord | undefined> {
    const [row] = await this.#query('SELECT * FROM grants WHERE id = $1', [id]);
    return row && grantFromRow(row);
  }

  async listGrants(): Promise<GrantRecord[]> {
    return (await this.#query('SELECT * FROM grants ORDER BY created_at, id')).map(grantFromRow);
  }

  async revokeGrant(id: string, at: number): Promise<boolean> {
    return (await this.#query('UPDATE grants SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING id', [at, id])).length === 1;
  }

  async grantsForDevice(device: DeviceRecord): Promise<GrantRecord[]> {
    const rows = await this.#query(
      `SELECT grants.*, COALESCE(r.releases, 0) AS device_releases FROM grants
        LEFT JOIN grant_device_releases r ON r.grant_id = grants.id AND r.device_id = $1
        WHERE (subject_kind = 'device' AND subject_value = $1 AND subject_key_id = $2)
        OR (subject_kind = 'label' AND subject_value = ANY($3::text[])) ORDER BY not_after, id`,
      [device.id, device.keyId, [...device.labels]],
    );
    return rows.map(grantFromRow);
  }

  async recordRelease(
    grantId: string,
    deviceId: string,
    now: number,
    audit: AuditInput,
    options: ReleaseOptions = {},
  ): Promise<ReleaseOutcome> {
    // One round trip and one commit (ovseal_record_release, schema step 0003): the nonce, the
    // request id, this device's count, the audit record, then the grant's guarded UPDATE.
    const entry = auditFields(audit);
    try {
      const [row] = await this.#query(
        'SELECT outcome, grant_row FROM ovseal_record_release($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)',
        [
          grantId,
          deviceId,
          now,
          options.requestId ?? null,
          options.nonce?.nonce ?? null,
          options.nonce?.expiresAt ?? null,
          entry.at,
          entry.actor,
          entry.action,
          entry.outcome,
          entry.deviceId,
          entry.modelId,
          entry.grantId,
          entry.reason,
          entry.remote,
        ],
      );
      const grant = grantFromRow(row!['grant_row'] as Row);
      return row!['outcome'] === 'repeated' ? { ok: true, grant, repeated: true } : { ok: true, grant };
    } catch (error) {
      const { code, message } = error as { code?: string; message?: string };
      if (code === 'OVS01' && (message === 'releases_exhausted' || message === 'device_releases_exhausted' || message === 'replayed'))
        return { ok: false, reason: message };
      throw error;
    }
  }

  async findReleaseRequest(deviceId: string, requestId: string): Promise<ReleaseRequestRecord | undefined> {
    const [row] = await this.#query('SELECT * FROM release_requests WHERE device_id = $1 AND request_id = $2', [deviceId, requestId]);
    return row && releaseRequestFromRow(row);
  }

  async useNonce(nonce: string, deviceId: string, expiresAt: number): Promise<boolean> {
    // A row back is the first use; a replay — to this broker or any other — inserts nothing.
    return (
      (
        await this.#query(
          'INSERT INTO used_nonces (nonce, device_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (nonce) DO NOTHING RETURNING nonce',
          [nonce, deviceId, expiresAt],
        )
      ).length === 1
    );
  }

  async purgeNonces(now: number): Promise<number> {
    await this.#query('DELETE FROM release_requests WHERE at < $1', [now - RELEASE_REQUEST_TTL_MS]);
    return (await this.#query('DELETE FROM used_nonces WHERE expires_at < $1 RETURNING 1', [now])).length;
  }

  async insertEnrolmentToken(token: EnrolmentTokenRecord): Promise<void> {
    const { sql, values } = postgresInsert('enrolment_tokens', enrolmentTokenColumns(token));
    await this.#insert(sql, values, `enrolment token ${token.id}`);
  }

  async listEnrolmentTokens(): Promise<EnrolmentTokenRecord[]> {
    return (await this.#query('SELECT * FROM enrolment_tokens ORDER BY created_at, id')).map(tokenFromRow);
  }

  async revokeEnrolmentToken(id: string, at: number): Promise<boolean> {
    return (
      (await this.#query('UPDATE enrolment_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING id', [at, id]))
        .length === 1
    );
  }

  /** The checks of an enrolment, in order; `forUpdate` locks the token row (inside the enrolment's transaction). */
  async #checkEnrolment(
    tokenHash: string,
    device: DeviceRecord,
    now: number,
    client?: Client,
    forUpdate = false,
  ): Promise<{ ok: true; token: EnrolmentTokenRecord } | { ok: false; reason: EnrolmentRefusal }> {
    const [row] = await this.#query(
      `SELECT * FROM enrolment_tokens WHERE token_hash = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [tokenHash],
      client,
    );
    if (!row) return { ok: false, reason: 'invalid_token' };
    const token = tokenFromRow(row);
    if (token.revokedAt !== null) return { ok: false, reason: 'token_revoked' };
    if (token.expiresAt <= now) return { ok: false, reason: 'token_expired' };
    if (token.uses >= token.maxUses) return { ok: false, reason: 'token_used_up' };
    if (!tokenAllows(token, device.id)) return { ok: false, reason: 'device_id_not_allowed' };
    if ((await this.#query('SELECT 1 FROM revoked_keys WHERE key_id = $1', [device.keyId], client)).length > 0)
      return { ok: false, reason: 'key_revoked' };
    if ((await this.#query('SELECT 1 FROM devices WHERE id = $1', [device.id], client)).length > 0)
      return { ok: false, reason: 'device_exists' };
    if ((await this.#query('SELECT 1 FROM devices WHERE key_id = $1', [device.keyId], client)).length > 0)
      return { ok: false, reason: 'key_registered' };
    return { ok: true, token };
  }

  async peekEnrolment(
    tokenHash: string,
    device: DeviceRecord,
    now: number,
  ): Promise<{ ok: true; token: EnrolmentTokenRecord } | { ok: false; reason: EnrolmentRefusal }> {
    return this.#checkEnrolment(tokenHash, device, now);
  }

  async enrolDevice(
    tokenHash: string,
    device: DeviceRecord,
    now: number,
    audit: AuditInput,
    attested?: AttestedEnrolment,
  ): Promise<{ ok: true; device: DeviceRecord } | { ok: false; reason: EnrolmentRefusal }> {
    try {
      return await this.#transaction(async (client) => {
        // One key enrols one device, and one TPM (EK) one device, whichever broker and token:
        // enrolments of a key, or of an EK, take turns.
        await lockKey(client, device.keyId);
        if (attested) await lockKey(client, `ek:${attested.attestation.ekName}`);
        // The token's row lock: its uses are counted one enrolment at a time, across brokers.
        const checked = await this.#checkEnrolment(tokenHash, device, now, client, true);
        if (!checked.ok) throw new Refused(checked.reason);
        const { token } = checked;
        if (token.requireAttestation && !attested) throw new Refused<EnrolmentRefusal>('attestation_required');
        if (attested) {
          const ek = attested.attestation.ekName;
          if ((await this.#query('SELECT 1 FROM revoked_keys WHERE key_id = $1', [`ek:${ek}`], client)).length > 0)
            throw new Refused<EnrolmentRefusal>('key_revoked');
          if ((await this.#query('SELECT 1 FROM device_attestation WHERE ek_name = $1', [ek], client)).length > 0)
            throw new Refused<EnrolmentRefusal>('ek_registered');
        }
        const enrolled: DeviceRecord = { ...device, labels: token.labels };
        await this.#query('UPDATE enrolment_tokens SET uses = uses + 1 WHERE id = $1', [token.id], client);
        const row = postgresInsert('devices', deviceColumns(enrolled));
        await this.#query(row.sql, row.values, client);
        await this.#appendAudit({ ...audit, actor: `enrolment:${token.id}` }, client);
        if (attested) await this.#insertAttested(attested, client);
        return { ok: true as const, device: enrolled };
      });
    } catch (error) {
      if (error instanceof Refused) return { ok: false, reason: error.reason as EnrolmentRefusal };
      // The same id enrolled at the same moment with another token (and key): its insert lost.
      if (isUniqueViolation(error))
        return {
          ok: false,
          reason: (error as { constraint?: string }).constraint === 'device_attestation_ek_name_key' ? 'ek_registered' : 'device_exists',
        };
      throw error;
    }
  }

  /** The attestation row, then each trust-on-first-use capture that still finds its scope empty (audited). */
  async #insertAttested(attested: AttestedEnrolment, client: Client): Promise<void> {
    const { sql, values } = postgresInsert('device_attestation', attestationColumns(attested.attestation));
    await this.#query(sql, values, client);
    for (const capture of attested.captures) {
      if (await this.#addValues(capture.values, true, client)) await this.#appendAudit(capture.audit, client);
    }
  }

  async getAttestation(deviceId: string): Promise<DeviceAttestationRecord | undefined> {
    const [row] = await this.#query('SELECT * FROM device_attestation WHERE device_id = $1', [deviceId]);
    return row && attestationFromRow(row);
  }

  async recordQuote(deviceId: string, quote: QuoteRecord, outcome: 'accepted' | 'refused' | 'baseline'): Promise<boolean> {
    const text = json(quote);
    if (outcome === 'refused')
      return (
        (await this.#query('UPDATE device_attestation SET last_refused = $1 WHERE device_id = $2 RETURNING 1', [text, deviceId])).length ===
        1
      );
    if (outcome === 'baseline') {
      return (
        (
          await this.#query(
            'UPDATE device_attestation SET last_quote = $1, last_refused = NULL, reset_count = $2, restart_count = $3 WHERE device_id = $4 RETURNING 1',
            [text, quote.resetCount, quote.restartCount, deviceId],
          )
        ).length === 1
      );
    }
    // Guarded: counters below the baseline (a TPM state rolled back, or a later quote recorded by
    // another broker meanwhile) write nothing.
    return (
      (
        await this.#query(
          `UPDATE device_attestation SET last_quote = $1, reset_count = $2, restart_count = $3 WHERE device_id = $4
          AND (reset_count IS NULL OR reset_count < $2 OR (reset_count = $2 AND restart_count <= $3)) RETURNING 1`,
          [text, quote.resetCount, quote.restartCount, deviceId],
        )
      ).length === 1
    );
  }

  async insertPcrPolicy(policy: Omit<PcrPolicyRecord, 'values'>): Promise<void> {
    const { sql, values } = postgresInsert('pcr_policies', pcrPolicyColumns(policy));
    await this.#insert(sql, values, `PCR policy ${policy.id}`);
  }

  /** The policies of these rows with their current value sets (all of them, or those for every device and this one). */
  async #withValues(rows: Row[], deviceId?: string): Promise<PcrPolicyRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => String(row['id']));
    const values = (
      deviceId === undefined
        ? await this.#query('SELECT * FROM pcr_values WHERE policy_id = ANY($1::text[]) AND removed_at IS NULL ORDER BY added_at, id', [
            ids,
          ])
        : await this.#query(
            'SELECT * FROM pcr_values WHERE policy_id = ANY($1::text[]) AND removed_at IS NULL AND (device_id IS NULL OR device_id = $2) ORDER BY added_at, id',
            [ids, deviceId],
          )
    ).map(valuesFromRow);
    return rows.map((row) =>
      policyFromRow(
        row,
        values.filter((set) => set.policyId === String(row['id'])),
      ),
    );
  }

  async getPcrPolicy(id: string): Promise<PcrPolicyRecord | undefined> {
    const [policy] = await this.#withValues(await this.#query('SELECT * FROM pcr_policies WHERE id = $1', [id]));
    return policy;
  }

  async listPcrPolicies(): Promise<PcrPolicyRecord[]> {
    return this.#withValues(await this.#query('SELECT * FROM pcr_policies ORDER BY created_at, id'));
  }

  async removePcrPolicy(id: string, at: number): Promise<boolean> {
    return (
      (await this.#query('UPDATE pcr_policies SET removed_at = COALESCE(removed_at, $1) WHERE id = $2 RETURNING id', [at, id])).length === 1
    );
  }

  async pcrPoliciesForDevice(device: Pick<DeviceRecord, 'id' | 'labels'>): Promise<PcrPolicyRecord[]> {
    const rows = await this.#query(
      `SELECT * FROM pcr_policies WHERE removed_at IS NULL AND ((subject_kind = 'device' AND subject_value = $1)
        OR (subject_kind = 'label' AND subject_value = ANY($2::text[]))) ORDER BY created_at, id`,
      [device.id, [...device.labels]],
    );
    return this.#withValues(rows, device.id);
  }

  async addPcrValues(values: PcrValuesRecord, onlyIfNone = false): Promise<boolean> {
    if (!onlyIfNone) return this.#addValues(values, false);
    return this.#transaction((client) => this.#addValues(values, true, client));
  }

  /**
   * With `onlyIfNone` (inside a transaction): an advisory lock on the scope (the policy, and the
   * device or every device), so two brokers capturing first at once insert one value set.
   */
  async #addValues(values: PcrValuesRecord, onlyIfNone: boolean, client?: Client): Promise<boolean> {
    const columns = [values.id, values.policyId, values.deviceId, json(values.values), values.source, values.note, values.addedAt];
    const insert =
      'INSERT INTO pcr_values (id, policy_id, device_id, pcr_values, source, note, added_at, removed_at) SELECT $1, $2, $3, $4, $5, $6, $7, NULL';
    if (!onlyIfNone) return (await this.#query(`${insert} RETURNING 1`, columns, client)).length === 1;
    await lockKey(client!, `pcr-scope:${values.policyId}:${values.deviceId ?? '*'}`);
    const guard =
      ' WHERE NOT EXISTS (SELECT 1 FROM pcr_values WHERE policy_id = $2 AND device_id IS NOT DISTINCT FROM $3 AND removed_at IS NULL) RETURNING 1';
    return (await this.#query(insert + guard, columns, client)).length === 1;
  }

  async removePcrValues(policyId: string, valuesId: string, at: number): Promise<boolean> {
    return (
      (
        await this.#query('UPDATE pcr_values SET removed_at = COALESCE(removed_at, $1) WHERE id = $2 AND policy_id = $3 RETURNING id', [
          at,
          valuesId,
          policyId,
        ])
      ).length === 1
    );
  }

  async #appendAudit(entry: AuditInput, client?: Client): Promise<AuditRecord> {
    const record = auditFields(entry);
    const { sql, values } = postgresInsert('audit', auditColumns(record));
    const [row] = await this.#query(`${sql} RETURNING id`, values, client);
    return { id: Number(row!['id']), ...record };
  }

  async appendAudit(entry: AuditInput): Promise<AuditRecord> {
    return this.#appendAudit(entry);
  }

  async listAudit(options: { after?: number; limit: number; deviceId?: string }): Promise<AuditRecord[]> {
    const rows =
      options.deviceId === undefined
        ? await this.#query('SELECT * FROM audit WHERE id > $1 ORDER BY id LIMIT $2', [options.after ?? 0, options.limit])
        : await this.#query('SELECT * FROM audit WHERE id > $1 AND device_id = $2 ORDER BY id LIMIT $3', [
            options.after ?? 0,
            options.deviceId,
            options.limit,
          ]);
    return rows.map(auditFromRow);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}

/** An advisory lock for one device key, held to the end of the transaction. */
async function lockKey(client: Client, keyId: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`ovseal-key:${keyId}`]);
}

/**
 * Applies the steps this database lacks, in one transaction under an advisory lock: brokers that
 * start together wait for the first one, then find every step applied. DDL is transactional in
 * PostgreSQL, so a failed step leaves nothing half-made.
 */
async function migrate(client: Client, migrations: readonly PostgresMigration[]): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
  await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
  const applied = new Set((await client.query('SELECT id FROM schema_migrations')).rows.map((row: Row) => String(row['id'])));
  for (const migration of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
    if (applied.has(migration.id)) continue;
    await client.query(migration.sql);
    await client.query('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [migration.id, Date.now()]);
  }
}
