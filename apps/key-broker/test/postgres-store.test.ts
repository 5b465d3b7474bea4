// The PostgreSQL store against the shared conformance suite (three stores, each with its pool, on
// one real PostgreSQL database), plus what only PostgreSQL has: schema steps applied once when
// brokers start together, the database going away and coming back, and no password in errors.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BrokerError, PostgresBrokerStore } from '../src/index.js';
import { POSTGRES_MIGRATIONS } from '../src/lib/postgres-migrations/index.js';
import { describeWithPostgres, newPostgres } from './helpers.js';
import { describeStoreConformance } from './store-conformance.js';
import type { TestPostgres } from '@ovseal/test-fixtures/postgres';

let server: TestPostgres | undefined;
async function sharedServer(): Promise<TestPostgres> {
  server ??= await newPostgres();
  return server;
}

describeWithPostgres('PostgreSQL store', () => {
  afterAll(async () => {
    await server?.remove();
  });

  describeStoreConformance('PostgreSQL', async () => {
    const pg = await sharedServer();
    const url = await pg.createDatabase();
    return {
      open: () => PostgresBrokerStore.open({ connectionString: url, maxConnections: 8 }),
      async tamperAudit() {
        try {
          await pg.psql("UPDATE audit SET reason = 'tampered' WHERE id = (SELECT max(id) FROM audit)", new URL(url).pathname.slice(1));
          return 'the update went through';
        } catch (error) {
          return (error as Error).message;
        }
      },
      cleanup: async () => {},
    };
  });

  describeWithPostgres('migrations and availability', () => {
    let pg: TestPostgres;
    beforeAll(async () => {
      pg = await sharedServer();
    });

    it('brokers starting at once against an empty database apply each schema step once', async () => {
      const url = await pg.createDatabase();
      const stores = await Promise.all(
        Array.from({ length: 6 }, () => PostgresBrokerStore.open({ connectionString: url, maxConnections: 2 })),
      );
      const expected = POSTGRES_MIGRATIONS.map((migration) => migration.id).sort();
      for (const store of stores) expect(await store.appliedMigrations()).toEqual(expected);
      expect(await pg.psql('SELECT count(*) FROM schema_migrations', new URL(url).pathname.slice(1))).toBe(`${expected.length}\n`);
      // Opening again is a no-op, and every store works.
      const again = await PostgresBrokerStore.open({ connectionString: url });
      expect(await again.appliedMigrations()).toEqual(expected);
      await Promise.all([...stores, again].map((store) => store.close()));
    });

    it('a step a newer broker applied does not stop an older one', async () => {
      const url = await pg.createDatabase();
      const first = await PostgresBrokerStore.open({ connectionString: url });
      await pg.psql("INSERT INTO schema_migrations (id, applied_at) VALUES ('9999-from-the-future', 0)", new URL(url).pathname.slice(1));
      const second = await PostgresBrokerStore.open({ connectionString: url });
      expect(await second.appliedMigrations()).toContain('9999-from-the-future');
      await first.close();
      await second.close();
    });

    it('an unreachable database is ERR_BROKER_STORE_UNAVAILABLE, without the password; the pool recovers when it is back', async () => {
      const url = await pg.createDatabase();
      const store = await PostgresBrokerStore.open({ connectionString: url, connectionTimeoutMs: 1000 });
      await store.insertGrant({
        id: 'g-survivor',
        subject: { kind: 'label', value: 'x' },
        modelName: 'm',
        modelVersion: null,
        notAfter: Date.now() + 60_000,
        maxReleases: 1,
        releases: 0,
        maxReleasesPerDevice: null,
        createdAt: Date.now(),
        revokedAt: null,
      });
      await pg.close();
      try {
        const failure = await store.getGrant('g-survivor').then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(BrokerError);
        expect((failure as BrokerError).code).toBe('ERR_BROKER_STORE_UNAVAILABLE');
        expect(String((failure as Error).message)).not.toContain(pg.password);
        const atomic = await store.useNonce(randomBytes(8).toString('hex'), 'd', Date.now() + 1000).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect((atomic as BrokerError).code).toBe('ERR_BROKER_STORE_UNAVAILABLE');
      } finally {
        await pg.start();
      }
      expect((await store.getGrant('g-survivor'))?.id).toBe('g-survivor');
      await store.close();
    });

    it('a database that never answers is unavailable at open, with the host and no password in the message', async () => {
      const url = `postgresql://ovseal:${'s3cret-'.repeat(3)}@127.0.0.1:9/none`;
      const failure = await PostgresBrokerStore.open({ connectionString: url, connectionTimeoutMs: 1000 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect((failure as BrokerError).code).toBe('ERR_BROKER_STORE_UNAVAILABLE');
      expect((failure as Error).message).not.toContain('s3cret');
    });
  });
});
