// Types of postgres.mjs (the test harness for a real PostgreSQL server).
export declare function findPostgres(): { ok: true; binDir: string } | { ok: false; message: string };

export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  /** A connection URL (password included) for `database` (default `postgres`). */
  url(database?: string): string;
  start(): Promise<void>;
  /** Fast shutdown: sessions ended, nothing committed lost. */
  close(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  psql(sql: string, database?: string): Promise<string>;
  createDatabase(name?: string): Promise<string>;
  log(): string;
  remove(): Promise<void>;
}

export declare function startPostgres(options?: {
  fsync?: boolean;
  maxConnections?: number;
  settings?: Record<string, string>;
}): Promise<TestPostgres>;
