import type Database from 'better-sqlite3';
import type { DeviceAttestationRecord, DeviceRecord, EnrolmentRefusal, PcrPolicyRecord, PcrValuesRecord, QuoteRecord } from '../store.js';
import { attestationFromRow, policyFromRow, valuesFromRow, type Row } from './store-rows.js';
import { attestationColumns, pcrPolicyColumns, sqliteInsert } from './store-inserts.js';

type StatementOf = (sql: string) => Database.Statement;

const json = (value: unknown) => JSON.stringify(value);

/**
 * The attestation tables of {@link SqliteBrokerStore} (schema: `ATTESTATION_SCHEMA`). Methods run
 * inside the caller's transaction when there is one.
 */
export class SqliteAttestationTables {
  readonly #statement: StatementOf;

  constructor(statement: StatementOf) {
    this.#statement = statement;
  }

  get(deviceId: string): DeviceAttestationRecord | undefined {
    const row = this.#statement('SELECT * FROM device_attestation WHERE device_id = ?').get(deviceId) as Row | undefined;
    return row && attestationFromRow(row);
  }

  /** Why an attested enrolment of this EK is refused: revoked with a device before, or another device's. */
  refusal(record: DeviceAttestationRecord): EnrolmentRefusal | undefined {
    if (this.#statement('SELECT 1 FROM revoked_keys WHERE key_id = ?').get(`ek:${record.ekName}`)) return 'key_revoked';
    if (this.#statement('SELECT 1 FROM device_attestation WHERE ek_name = ?').get(record.ekName)) return 'ek_registered';
    return undefined;
  }

  insert(record: DeviceAttestationRecord): void {
    const { sql, values } = sqliteInsert('device_attestation', attestationColumns(record));
    this.#statement(sql).run(...values);
  }

  /** The EK goes with a revoked device: that TPM never enrols again. */
  revokeEk(deviceId: string, at: number, reason: string): void {
    this.#statement(
      "INSERT OR IGNORE INTO revoked_keys (key_id, device_id, revoked_at, reason) SELECT 'ek:' || ek_name, device_id, ?, ? FROM device_attestation WHERE device_id = ?",
    ).run(at, reason, deviceId);
  }

  recordQuote(deviceId: string, quote: QuoteRecord, outcome: 'accepted' | 'refused' | 'baseline'): boolean {
    const text = json(quote);
    if (outcome === 'refused')
      return this.#statement('UPDATE device_attestation SET last_refused = ? WHERE device_id = ?').run(text, deviceId).changes === 1;
    if (outcome === 'baseline') {
      return (
        this.#statement(
          'UPDATE device_attestation SET last_quote = ?, last_refused = NULL, reset_count = ?, restart_count = ? WHERE device_id = ?',
        ).run(text, quote.resetCount, quote.restartCount, deviceId).changes === 1
      );
    }
    return (
      this.#statement(
        `UPDATE device_attestation SET last_quote = ?, reset_count = ?, restart_count = ? WHERE device_id = ?
          AND (reset_count IS NULL OR reset_count < ? OR (reset_count = ? AND restart_count <= ?))`,
      ).run(text, quote.resetCount, quote.restartCount, deviceId, quote.resetCount, quote.resetCount, quote.restartCount).changes === 1
    );
  }

  insertPolicy(policy: Omit<PcrPolicyRecord, 'values'>): void {
    const { sql, values } = sqliteInsert('pcr_policies', pcrPolicyColumns(policy));
    this.#statement(sql).run(...values);
  }

  #values(policyId: string, deviceId?: string): PcrValuesRecord[] {
    const rows =
      deviceId === undefined
        ? this.#statement('SELECT * FROM pcr_values WHERE policy_id = ? AND removed_at IS NULL ORDER BY added_at, id').all(policyId)
        : this.#statement(
            'SELECT * FROM pcr_values WHERE policy_id = ? AND removed_at IS NULL AND (device_id IS NULL OR device_id = ?) ORDER BY added_at, id',
          ).all(policyId, deviceId);
    return (rows as Row[]).map(valuesFromRow);
  }

  getPolicy(id: string): PcrPolicyRecord | undefined {
    const row = this.#statement('SELECT * FROM pcr_policies WHERE id = ?').get(id) as Row | undefined;
    return row && policyFromRow(row, this.#values(id));
  }

  listPolicies(): PcrPolicyRecord[] {
    return (this.#statement('SELECT * FROM pcr_policies ORDER BY created_at, id').all() as Row[]).map((row) =>
      policyFromRow(row, this.#values(String(row['id']))),
    );
  }

  removePolicy(id: string, at: number): boolean {
    return this.#statement('UPDATE pcr_policies SET removed_at = COALESCE(removed_at, ?) WHERE id = ?').run(at, id).changes === 1;
  }

  policiesForDevice(device: Pick<DeviceRecord, 'id' | 'labels'>): PcrPolicyRecord[] {
    const rows = this.#statement(
      `SELECT * FROM pcr_policies WHERE removed_at IS NULL AND ((subject_kind = 'device' AND subject_value = ?)
        OR (subject_kind = 'label' AND subject_value IN (SELECT value FROM json_each(?)))) ORDER BY created_at, id`,
    ).all(device.id, json(device.labels)) as Row[];
    return rows.map((row) => policyFromRow(row, this.#values(String(row['id']), device.id)));
  }

  addValues(values: PcrValuesRecord, onlyIfNone: boolean): boolean {
    const columns = [values.id, values.policyId, values.deviceId, json(values.values), values.source, values.note, values.addedAt];
    const insert =
      'INSERT INTO pcr_values (id, policy_id, device_id, pcr_values, source, note, added_at, removed_at) SELECT ?, ?, ?, ?, ?, ?, ?, NULL';
    if (!onlyIfNone) return this.#statement(insert).run(...columns).changes === 1;
    const guard = ' WHERE NOT EXISTS (SELECT 1 FROM pcr_values WHERE policy_id = ? AND device_id IS ? AND removed_at IS NULL)';
    return this.#statement(insert + guard).run(...columns, values.policyId, values.deviceId).changes === 1;
  }

  removeValues(policyId: string, valuesId: string, at: number): boolean {
    return (
      this.#statement('UPDATE pcr_values SET removed_at = COALESCE(removed_at, ?) WHERE id = ? AND policy_id = ?').run(
        at,
        valuesId,
        policyId,
      ).changes === 1
    );
  }
}
