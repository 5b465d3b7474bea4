// The SQLite store against the shared conformance suite: three instances on one database file.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteBrokerStore } from '../src/index.js';
import { SCHEMA_VERSION } from '../src/lib/sqlite-schema.js';
import { tempDir } from './helpers.js';
import { describeStoreConformance } from './store-conformance.js';

describeStoreConformance('SQLite', async () => {
  const work = await tempDir('ovseal-sqlite-conformance-');
  const path = join(work.path, 'broker.db');
  return {
    open: async () => SqliteBrokerStore.open(path, { checkpointIntervalMs: 0 }),
    async tamperAudit() {
      const db = new Database(path);
      try {
        db.prepare('UPDATE audit SET reason = ? WHERE id = (SELECT max(id) FROM audit)').run('tampered');
        return 'the update went through';
      } catch (error) {
        return (error as Error).message;
      } finally {
        db.close();
      }
    },
    cleanup: () => work.remove(),
  };
});

describe('SQLite schema steps', () => {
  it('a version 3 database gets the release request table (step 4) and keeps its data', async () => {
    const work = await tempDir('ovseal-sqlite-step4-');
    try {
      const path = join(work.path, 'broker.db');
      const store = SqliteBrokerStore.open(path, { checkpointIntervalMs: 0 });
      await store.appendAudit({ at: 1, actor: 'admin', action: 'probe', outcome: 'ok' });
      await store.close();
      // What a version 3 broker left: no release_requests table.
      const db = new Database(path);
      db.exec('DROP TABLE release_requests; UPDATE schema_version SET version = 3;');
      db.close();
      const migrated = SqliteBrokerStore.open(path, { checkpointIntervalMs: 0 });
      expect(await migrated.findReleaseRequest('d', 'request-0001')).toBeUndefined();
      expect((await migrated.listAudit({ limit: 10 })).map((record) => record.action)).toEqual(['probe']);
      await migrated.close();
      const check = new Database(path, { readonly: true });
      expect(check.prepare('SELECT version FROM schema_version').get()).toEqual({ version: SCHEMA_VERSION });
      check.close();
    } finally {
      await work.remove();
    }
  });
});
