// Schema migration from version 2 (before attestation): every row kept, enrolment tokens gain the
// attestation flags (off), the attestation tables appear.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteBrokerStore } from '../src/index.js';
import { SCHEMA_VERSION } from '../src/lib/sqlite-schema.js';
import { tempDir } from './helpers.js';

describe('schema migration from version 2', () => {
  it('keeps enrolment tokens (attestation flags off) and adds the attestation tables', async () => {
    const work = await tempDir('ovseal-broker-migrate-v2-');
    try {
      const path = join(work.path, 'broker.db');
      const old = new Database(path);
      old.exec(await readFile(new URL('./fixtures/schema-v2.sql', import.meta.url), 'utf8'));
      old.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2);');
      old
        .prepare(
          "INSERT INTO enrolment_tokens (id, token_hash, labels, expires_at, max_uses, uses, created_at) VALUES ('e-1', 'abc', '[\"line-1\"]', 9e15, 3, 1, 1)",
        )
        .run();
      old.close();
      const store = SqliteBrokerStore.open(path, { checkpointIntervalMs: 0 });
      try {
        expect(await store.listEnrolmentTokens()).toEqual([
          expect.objectContaining({ id: 'e-1', labels: ['line-1'], uses: 1, requireAttestation: false, allowMissingEkCertificate: false }),
        ]);
        expect(await store.listPcrPolicies()).toEqual([]);
        expect(await store.getAttestation('any')).toBeUndefined();
        await store.insertPcrPolicy({
          id: 'p-1',
          subject: { kind: 'label', value: 'line-1' },
          pcrs: 'sha256:7',
          tofu: 'off',
          note: null,
          createdAt: 1,
          removedAt: null,
        });
        expect((await store.pcrPoliciesForDevice({ id: 'd', labels: ['line-1'] })).map((policy) => policy.id)).toEqual(['p-1']);
      } finally {
        await store.close();
      }
      const reopened = new Database(path, { readonly: true });
      expect(reopened.prepare('SELECT version FROM schema_version').get()).toEqual({ version: SCHEMA_VERSION });
      // And the steps after attestation (4: release request ids).
      expect(reopened.prepare("SELECT name FROM sqlite_master WHERE name = 'release_requests'").get()).toEqual({
        name: 'release_requests',
      });
      reopened.close();
    } finally {
      await work.remove();
    }
  });
});
