// PostgreSQL schema steps, applied in order of their ids by PostgresBrokerStore.open. Each step is
// its own file and only adds (tables, columns with defaults, indexes): a broker may start against a
// database a newer broker has migrated, and branches adding steps merge as a union.
import { BROKER_SCHEMA } from './0001-broker-schema.js';
import { RELEASE_REQUESTS } from './0002-release-requests.js';
import { RECORD_RELEASE_FUNCTION } from './0003-record-release-function.js';
import { ATTESTATION } from './0004-attestation.js';

export interface PostgresMigration {
  /** Applied once, recorded in `schema_migrations` under this id. */
  readonly id: string;
  readonly sql: string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [BROKER_SCHEMA, RELEASE_REQUESTS, RECORD_RELEASE_FUNCTION, ATTESTATION];
