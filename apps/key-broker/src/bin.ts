#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Identity } from '@ovseal/container';
import { FileIdentity } from '@ovseal/key-file';
import { kmsIdentityFromUri } from '@ovseal/key-kms';
import { startKeyBroker, type RateLimit } from './start-key-broker.js';
import type { Logger } from './lib/logger.js';
import type { BrokerStore } from './store.js';

const USAGE = `Usage: ovseal-key-broker --data-dir DIR --identity URI [options]

The ovseal fleet key broker (README: apps/key-broker/README.md).

Options:
  --data-dir DIR           SQLite database and registered containers (env OVSEAL_BROKER_DATA_DIR)
  --store URL              postgres://USER@HOST:PORT/DB: keep state in PostgreSQL (several brokers on one
                           database) instead of SQLite in the data dir (env OVSEAL_BROKER_STORE, removed
                           from the environment once read; give the password with PGPASSWORD or ~/.pgpass)
  --store-pool N           PostgreSQL connections per broker (default 10)
  --identity URI           key that unwraps registered models: aws-kms:… or file:PATH; repeatable
                           (env OVSEAL_BROKER_IDENTITIES, comma-separated). KMS: the SDK's usual
                           environment (AWS_REGION, credentials, AWS_ENDPOINT_URL_KMS)
  --admin-token-file FILE  the admin bearer token (else env OVSEAL_BROKER_ADMIN_TOKEN, removed from the
                           environment once read)
  --tls-cert FILE          serve HTTPS with this certificate chain (PEM) …
  --tls-key FILE           … and its private key (PEM)
  --admin-client-ca FILE   admins may authenticate with a client certificate from this CA (mTLS)
  --host HOST              listen address (default 127.0.0.1)
  --port PORT              listen port (default 8640; 0 for a free one)
  --public-url URL         base URL devices use (default http://HOST:PORT)
  --trust PEM              register only containers signed by this publisher key; repeatable
  --kms-cache-ttl SECONDS  reuse an unwrapped data key this long (default 300; 0 turns the cache off)
  --kms-cache-uses N       ... at most N times (default 1000)
  --durability MODE        normal (default: survives crashes and restarts) or full (fsync each commit)
  --rate-limit N           requests per second per client address (default 50; 0 turns it off)
  --trust-proxy N          N proxies of yours in front: the client address is the X-Forwarded-For hop
                           N places from the right (default 0: the peer address)
  --device-rate-limit N    key releases per second per device (default 5; 0 turns it off)
  --ek-ca FILE             trusted TPM manufacturer CA certificates (PEM) for attested enrolment;
                           repeatable
  --attest-pcrs SEL        PCRs every quote covers (default sha256:0,1,2,3,4,5,6,7)
  --metrics-token-file F   bearer token of GET /metrics (Prometheus; else env OVSEAL_BROKER_METRICS_TOKEN);
                           admins may read /metrics too
  --quiet                  no request log lines (events and errors are still logged)
  -h, --help               show this help

Prints one JSON line on stdout when ready: {"event":"ready","url":…}. Stops on SIGTERM or SIGINT.
`;

function limit(value: string | undefined, burstFactor: number): RateLimit | false | undefined {
  if (value === undefined) return undefined;
  const perSecond = Number(value);
  if (!Number.isFinite(perSecond) || perSecond < 0) throw new Error(`invalid rate ${value}`);
  return perSecond === 0 ? false : { perSecond, burst: Math.max(1, Math.ceil(perSecond * burstFactor)) };
}

async function identityFrom(uri: string, cache: { ttlMs: number; maxUses: number } | undefined): Promise<Identity> {
  if (uri.startsWith('aws-kms:')) return kmsIdentityFromUri(uri, cache ? { cache } : {});
  if (uri.startsWith('file:')) return FileIdentity.fromFile(uri.slice('file:'.length));
  throw new Error(`unsupported identity ${uri.split(':')[0]}: use aws-kms:… or file:PATH`);
}

/** The PostgreSQL store (schema steps applied); its log lines name the host, never the URL's password. */
async function openStore(url: string, pool: number, logger: Logger): Promise<BrokerStore> {
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error('--store is a postgres:// URL (without it the broker keeps SQLite in --data-dir)');
  if (!Number.isSafeInteger(pool) || pool < 1) throw new Error('--store-pool is a number of connections (1 or more)');
  const { PostgresBrokerStore } = await import('./postgres-broker-store.js');
  const where = new URL(url);
  const store = await PostgresBrokerStore.open({
    connectionString: url,
    maxConnections: pool,
    onConnectionError: (error) => logger.warn('store_connection_lost', { code: (error as { code?: string }).code ?? error.name }),
  });
  logger.info('store', { kind: 'postgres', host: where.host, database: where.pathname.slice(1) });
  return store;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'data-dir': { type: 'string' },
      identity: { type: 'string', multiple: true },
      'admin-token-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'admin-client-ca': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'public-url': { type: 'string' },
      trust: { type: 'string', multiple: true },
      'kms-cache-ttl': { type: 'string' },
      'kms-cache-uses': { type: 'string' },
      durability: { type: 'string' },
      'rate-limit': { type: 'string' },
      'device-rate-limit': { type: 'string' },
      store: { type: 'string' },
      'store-pool': { type: 'string' },
      'metrics-token-file': { type: 'string' },
      'trust-proxy': { type: 'string' },
      'ek-ca': { type: 'string', multiple: true },
      'attest-pcrs': { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const env = process.env;
  const dataDir = values['data-dir'] ?? env['OVSEAL_BROKER_DATA_DIR'];
  const identityUris = values.identity ?? env['OVSEAL_BROKER_IDENTITIES']?.split(',').filter(Boolean) ?? [];
  const adminToken = values['admin-token-file']
    ? readFileSync(values['admin-token-file'], 'utf8').trim()
    : env['OVSEAL_BROKER_ADMIN_TOKEN'];
  // Only its SHA-256 is kept: the token must not linger where dependencies, child processes or a
  // diagnostic report would find it.
  delete env['OVSEAL_BROKER_ADMIN_TOKEN'];
  const storeUrl = values.store ?? env['OVSEAL_BROKER_STORE'];
  delete env['OVSEAL_BROKER_STORE'];
  const metricsToken = values['metrics-token-file']
    ? readFileSync(values['metrics-token-file'], 'utf8').trim()
    : env['OVSEAL_BROKER_METRICS_TOKEN'];
  delete env['OVSEAL_BROKER_METRICS_TOKEN'];
  if (!dataDir || identityUris.length === 0 || (!adminToken && !values['admin-client-ca'])) {
    process.stderr.write(
      `ovseal-key-broker: error: --data-dir, --identity and an admin token (or --admin-client-ca) are required\n\n${USAGE}`,
    );
    process.exitCode = 2;
    return;
  }
  const ttl = Number(values['kms-cache-ttl'] ?? 300);
  const cache = ttl > 0 ? { ttlMs: ttl * 1000, maxUses: Number(values['kms-cache-uses'] ?? 1000) } : undefined;
  const durability = values.durability ?? 'normal';
  if (durability !== 'normal' && durability !== 'full') throw new Error('--durability is normal or full');
  const { createLogger } = await import('./lib/logger.js');
  if (storeUrl !== undefined && values.durability !== undefined)
    throw new Error('--durability is a SQLite setting: PostgreSQL keeps its own (synchronous_commit)');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined) || (values['admin-client-ca'] && !values['tls-cert'])) {
    throw new Error('--tls-cert and --tls-key go together, and --admin-client-ca needs them');
  }
  const tls = values['tls-cert']
    ? {
        cert: readFileSync(values['tls-cert']),
        key: readFileSync(values['tls-key']!),
        ...(values['admin-client-ca'] ? { adminClientCa: readFileSync(values['admin-client-ca']) } : {}),
      }
    : undefined;
  const trustProxy = Number(values['trust-proxy'] ?? 0);
  if (!Number.isSafeInteger(trustProxy) || trustProxy < 0) throw new Error('--trust-proxy is a number of proxies (0 or more)');
  const rate = limit(values['rate-limit'], 2);
  const deviceRate = limit(values['device-rate-limit'], 4);
  const logger = createLogger((line) => process.stderr.write(line), { requests: !(values.quiet ?? false) });
  const store = storeUrl === undefined ? undefined : await openStore(storeUrl, Number(values['store-pool'] ?? 10), logger);
  const broker = await startKeyBroker({
    dataDir,
    ...(store ? { store } : {}),
    ...(metricsToken ? { metricsToken } : {}),
    processMetrics: true,
    ...(adminToken ? { adminToken } : {}),
    ...(tls ? { tls } : {}),
    identities: await Promise.all(identityUris.map((uri) => identityFrom(uri, cache))),
    host: values.host ?? '127.0.0.1',
    port: Number(values.port ?? 8640),
    durability,
    logger,
    ...(values['public-url'] ? { publicUrl: values['public-url'] } : {}),
    ...(values.trust ? { trust: { publicKeys: values.trust.map((path) => readFileSync(path, 'utf8')) } } : {}),
    ...(rate !== undefined ? { rateLimit: rate } : {}),
    ...(deviceRate !== undefined ? { deviceRateLimit: deviceRate } : {}),
    trustProxy,
    attestation: {
      ekCaCertificates: (values['ek-ca'] ?? []).map((path) => readFileSync(path, 'utf8')),
      ...(values['attest-pcrs'] ? { pcrs: values['attest-pcrs'] } : {}),
    },
  });
  process.stdout.write(`${JSON.stringify({ event: 'ready', url: broker.url, port: broker.port, pid: process.pid })}\n`);
  const shutdown = () => {
    void broker.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: Error & { hint?: string }) => {
  process.stderr.write(`ovseal-key-broker: error: ${error.message}\n${error.hint ? `ovseal-key-broker: hint: ${error.hint}\n` : ''}`);
  process.exit(1);
});
