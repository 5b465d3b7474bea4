import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Identity, TrustPolicy } from '@ovseal/container';
import { formatPcrSelection, parsePcrSelection } from '@ovseal/key-tpm';
import { BrokerError } from './errors.js';
import { adminRoutes, isAdmin, isMetricsReader, sha256Digest } from './lib/admin-routes.js';
import { attestationAdminRoutes } from './lib/attestation/admin-routes.js';
import { CredentialChallenges } from './lib/attestation/credential-challenges.js';
import { ModelKeyring, type BrokerCore } from './lib/broker-core.js';
import { DeviceAuthenticator, DeviceAuthError } from './lib/device-auth.js';
import { DeviceRecipients } from './lib/device-keys.js';
import { deviceRoutes } from './lib/device-routes.js';
import { HttpError, readBody, remoteOf, sendError, sendJson } from './lib/http.js';
import { BrokerMetrics } from './lib/metrics.js';
import { createLogger, silentLogger, type Logger } from './lib/logger.js';
import { RateLimiter } from './lib/rate-limiter.js';
import { Router, type RequestContext, type Route } from './lib/router.js';
import { UrlSigner } from './lib/signed-url.js';
import { SqliteBrokerStore } from './sqlite-broker-store.js';
import type { BrokerStore } from './store.js';

/** A token bucket: sustained requests per second and burst size. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** Options of {@link startKeyBroker}. */
export interface KeyBrokerOptions {
  /** Where the SQLite database and the registered containers live (created, mode 0700). */
  readonly dataDir: string;
  /**
   * The admin bearer token (at least 16 characters). Only its SHA-256 is kept in memory. Optional
   * when `tls.adminClientCa` is set (admins then authenticate with a client certificate).
   */
  readonly adminToken?: string;
  /**
   * Serve HTTPS. With `adminClientCa`, a client certificate issued by that CA authenticates admin
   * calls (mTLS) — alone, or next to the bearer token when both are configured (either one
   * suffices). Devices need no client certificate: they prove their TPM key instead.
   */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer; readonly adminClientCa?: string | Buffer };
  /** Keys that unwrap registered models' data keys: a KMS identity (with its cache), a key file… */
  readonly identities: readonly Identity[];
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Base URL devices reach the broker at (container URLs). Default `http://host:port`. */
  readonly publicUrl?: string;
  /** Another store (PostgreSQL when several brokers run). Default: SQLite at `dataDir/broker.db`. */
  readonly store?: BrokerStore;
  /** SQLite durability (see `SqliteBrokerStoreOptions`). Default `normal`. */
  readonly durability?: 'normal' | 'full';
  /** Register only containers signed by these publishers. */
  readonly trust?: TrustPolicy;
  /** Body limits in bytes: JSON 64 KiB, device requests 16 KiB, container uploads 4 GiB. */
  readonly limits?: { readonly jsonBytes?: number; readonly deviceBytes?: number; readonly containerBytes?: number };
  /** Per client address, every route: default 50/s, burst 100. `false` turns it off (benchmarks). */
  readonly rateLimit?: RateLimit | false;
  /** Key releases per device: default 5/s, burst 20. */
  readonly deviceRateLimit?: RateLimit | false;
  /**
   * Authentication failures before 429s, counted per device id a proof claims (device routes), per
   * enrolment token (enrolment) and per client address (admin routes only): devices behind one
   * proxy or NAT do not lock each other out. Default 1/s, burst 30.
   */
  readonly authFailureLimit?: RateLimit | false;
  /** Challenge lifetime. Default 60 s. */
  readonly challengeTtlMs?: number;
  /** Accepted distance between a device's request time and the broker clock. Default 120 s. */
  readonly clockSkewMs?: number;
  /** Lifetime of container download URLs. Default 3600 s. */
  readonly urlTtlSeconds?: number;
  /**
   * The number of proxies of your own in front of the broker (`true`: one). The client address is
   * then taken from X-Forwarded-For, that many hops from the right (the values a proxy appended);
   * the left-most values are the client's to forge. Default 0: the socket's peer address.
   */
  readonly trustProxy?: boolean | number;
  /** Structured log sink (JSON lines). Default: stderr. `false`: silent. */
  readonly logger?: Logger | false;
  /**
   * `GET /metrics` (Prometheus text) answers admins and, when set, this bearer token (at least 16
   * characters) — give Prometheus this one, not the admin token.
   */
  readonly metricsToken?: string;
  /** Add Node's process metrics (CPU, memory, event loop lag, GC) to `/metrics`: process-wide, so off by default; the command turns them on. */
  readonly processMetrics?: boolean;
  /** TPM remote attestation (README, "Attestation"). */
  readonly attestation?: AttestationOptions;
}

/** Options of TPM remote attestation. */
export interface AttestationOptions {
  /**
   * Trusted TPM manufacturer CA certificates (PEM; bundles welcome): an EK certificate must be
   * signed by one of them. Every certificate here is a trust anchor — list the issuing CAs.
   */
  readonly ekCaCertificates?: readonly (string | Buffer)[];
  /** PCRs every quote covers (policies add theirs; one bank for all). Default `sha256:0,1,2,3,4,5,6,7`. */
  readonly pcrs?: string;
  /** Lifetime of an enrolment's credential challenge. Default 120 s. */
  readonly activationTtlMs?: number;
}

/** A running broker. */
export interface KeyBroker {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly store: BrokerStore;
  /** The broker's Prometheus registry (what `GET /metrics` serves). */
  readonly metrics: BrokerMetrics;
  /** Stops accepting, closes connections, the store and the identities (their KMS clients, PKCS#11 sessions). */
  close(): Promise<void>;
  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void>;
}

export type { Logger };

/**
 * Starts the fleet key broker: an HTTP service that registers sealed models, devices and grants
 * (admin API, bearer token), and releases each model's data key re-wrapped to one device's TPM key
 * after a proof of possession of that key (device API). State lives in the store (SQLite by
 * default) and survives restarts.
 *
 * @example
 * ```ts
 * const broker = await startKeyBroker({
 *   dataDir: '/var/lib/ovseal-broker',
 *   adminToken: process.env.OVSEAL_BROKER_ADMIN_TOKEN!,
 *   identities: [kmsIdentityFromUri('aws-kms:alias/models', { cache: { ttlMs: 60_000, maxUses: 1000 } })],
 *   port: 8443,
 * });
 * ```
 */
export async function startKeyBroker(options: KeyBrokerOptions): Promise<KeyBroker> {
  const adminMtls = options.tls?.adminClientCa !== undefined;
  if (options.adminToken === undefined ? !adminMtls : typeof options.adminToken !== 'string' || options.adminToken.length < 16) {
    throw new BrokerError('ERR_BROKER_CONFIG', 'admin calls need a token of at least 16 characters, or TLS with an admin client CA', {
      hint: 'generate a token: openssl rand -base64 32',
    });
  }
  if (!options.identities || options.identities.length === 0)
    throw new BrokerError('ERR_BROKER_CONFIG', 'the broker needs at least one identity to unwrap model keys');
  if (options.metricsToken !== undefined && options.metricsToken.length < 16)
    throw new BrokerError('ERR_BROKER_CONFIG', 'a metrics token has at least 16 characters');
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const store = options.store ?? SqliteBrokerStore.open(join(options.dataDir, 'broker.db'), { durability: options.durability ?? 'normal' });
  const logger = options.logger === false ? silentLogger : (options.logger ?? createLogger());
  const host = options.host ?? '127.0.0.1';
  let publicUrl = options.publicUrl?.replace(/\/+$/, '');
  const limiter = (setting: RateLimit | false | undefined, fallback: RateLimit) =>
    setting === false ? undefined : new RateLimiter((setting ?? fallback).perSecond, (setting ?? fallback).burst);
  const recipients = new DeviceRecipients();
  const metrics = new BrokerMetrics({ processMetrics: options.processMetrics ?? false });
  const core: BrokerCore = {
    store,
    identities: options.identities,
    trust: options.trust,
    recipients,
    authenticator: new DeviceAuthenticator({
      store,
      recipients,
      secret: await store.secret('challenge', () => randomBytes(32)),
      challengeTtlMs: options.challengeTtlMs ?? 60_000,
      clockSkewMs: options.clockSkewMs ?? 120_000,
    }),
    signer: new UrlSigner(await store.secret('container-urls', () => randomBytes(32))),
    logger,
    adminTokenDigest: options.adminToken === undefined ? undefined : sha256Digest(options.adminToken),
    adminMtls,
    publicUrl: () => publicUrl!,
    dataDir: options.dataDir,
    limits: {
      jsonBytes: options.limits?.jsonBytes ?? 64 * 1024,
      deviceBytes: options.limits?.deviceBytes ?? 16 * 1024,
      containerBytes: options.limits?.containerBytes ?? 4 * 1024 ** 3,
    },
    urlTtlSeconds: options.urlTtlSeconds ?? 3600,
    deviceLimiter: limiter(options.deviceRateLimit, { perSecond: 5, burst: 20 }),
    modelKeys: new ModelKeyring(options.identities),
    attestation: {
      ekCaCertificates: caBundles(options.attestation?.ekCaCertificates ?? []),
      defaultPcrs: defaultPcrsOf(options.attestation?.pcrs),
      credentials: new CredentialChallenges(
        await store.secret('attestation', () => randomBytes(32)),
        options.attestation?.activationTtlMs ?? 120_000,
      ),
    },
    metrics,
    metricsTokenDigest: options.metricsToken === undefined ? undefined : sha256Digest(options.metricsToken),
  };
  const routes: Route[] = [
    {
      method: 'GET',
      path: '/healthz',
      auth: 'public',
      async handler(ctx) {
        sendJson(ctx.res, 200, { status: 'ok' });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      auth: 'metrics',
      async handler(ctx) {
        const text = await metrics.registry.metrics();
        ctx.res.writeHead(200, {
          'content-type': metrics.registry.contentType,
          'content-length': Buffer.byteLength(text),
          'cache-control': 'no-store',
        });
        ctx.res.end(text);
      },
    },
    ...deviceRoutes(core),
    ...adminRoutes(core),
    ...attestationAdminRoutes(core),
  ];
  const handle = createHandler({
    core,
    router: new Router(routes),
    clientLimiter: limiter(options.rateLimit, { perSecond: 50, burst: 100 }),
    failureLimiter: limiter(options.authFailureLimit, { perSecond: 1, burst: 30 }),
    trustedProxies:
      options.trustProxy === true ? 1 : options.trustProxy === false || options.trustProxy === undefined ? 0 : options.trustProxy,
  });

  const listener = (req: IncomingMessage, res: ServerResponse) => void handle(req, res);
  const server = options.tls
    ? createTlsServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          maxHeaderSize: 16 * 1024,
          minVersion: 'TLSv1.2',
          // Ask for a client certificate (admins), never require one (devices have none).
          ...(adminMtls ? { ca: options.tls.adminClientCa, requestCert: true, rejectUnauthorized: false } : {}),
        },
        listener,
      )
    : createServer({ maxHeaderSize: 16 * 1024 }, listener);
  server.headersTimeout = 10_000;
  server.requestTimeout = 15 * 60_000; // container uploads
  server.keepAliveTimeout = 5_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  publicUrl ??= url;
  const purge = setInterval(() => void store.purgeNonces(Date.now()).catch(() => {}), 60_000);
  purge.unref();
  logger.info('listening', { url, publicUrl });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(purge);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await store.close();
      for (const identity of options.identities) await (identity as { close?: () => Promise<void> }).close?.();
    })();
    return closing;
  };
  return { url, host, port, store, metrics, close, [Symbol.asyncDispose]: close };
}

/** The trusted EK CA bundles as text, each checked to hold certificates (a bad file fails at start, not at enrolment). */
function caBundles(sources: readonly (string | Buffer)[]): string[] {
  return sources.map((source, index) => {
    const text = typeof source === 'string' ? source : source.toString('utf8');
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    try {
      if (blocks.length === 0) throw new Error('no PEM certificate');
      for (const block of blocks) new X509Certificate(block);
    } catch (cause) {
      throw new BrokerError('ERR_BROKER_CONFIG', `EK CA certificate bundle ${index + 1} does not parse: ${(cause as Error).message}`, {
        cause,
      });
    }
    return text;
  });
}

function defaultPcrsOf(pcrs: string | undefined): string {
  try {
    return formatPcrSelection(parsePcrSelection(pcrs ?? 'sha256:0,1,2,3,4,5,6,7'));
  } catch (cause) {
    throw new BrokerError('ERR_BROKER_CONFIG', `attestation PCRs: ${(cause as Error).message}`, { cause });
  }
}

/** What a 503 for an unreachable database asks clients to wait, in seconds. */
const STORE_RETRY_AFTER_SECONDS = 2;

interface HandlerDeps {
  readonly core: BrokerCore;
  readonly router: Router;
  readonly clientLimiter: RateLimiter | undefined;
  readonly failureLimiter: RateLimiter | undefined;
  readonly trustedProxies: number;
}

/**
 * What a failed authentication locks out: the device a proof names, the enrolment token tried, or
 * (admin routes) the client address — never every device behind one address.
 */
function lockoutKey(route: Route, ctx: RequestContext): string | undefined {
  const authorization = ctx.req.headers.authorization ?? '';
  switch (route.auth) {
    case 'device': {
      const claimed = /(?:^|[\s,])device=([^,\s]+)/.exec(authorization)?.[1];
      return claimed === undefined ? `address:${ctx.remote}` : `device:${claimed}`;
    }
    case 'enrolment':
      return `token:${sha256Digest(authorization).toString('hex').slice(0, 32)}`;
    case 'admin':
      return `address:${ctx.remote}`;
    default:
      return undefined;
  }
}

function createHandler(deps: HandlerDeps) {
  const { core } = deps;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    const remote = remoteOf(req, deps.trustedProxies);
    let routePath = 'unmatched';
    let ctx: RequestContext | undefined;
    let route: Route | undefined;
    try {
      const url = new URL(req.url ?? '/', 'http://broker.invalid');
      const wait = deps.clientLimiter?.take(remote) ?? 0;
      if (wait > 0) throw new HttpError(429, 'rate_limited', 'too many requests', { 'retry-after': String(wait) });
      const matched = deps.router.match(req.method ?? 'GET', url.pathname);
      route = matched.route;
      const { params } = matched;
      routePath = route.path;
      ctx = { req, res, url, params, remote, now: Date.now(), body: Buffer.alloc(0) };
      await authenticate(deps, route, ctx);
      await route.handler(ctx, core.store);
    } catch (error) {
      if (error instanceof HttpError) {
        if (error.status === 401) {
          core.metrics.authFailures.inc({ reason: error.code });
          const key = route && ctx ? lockoutKey(route, ctx) : undefined;
          if (key !== undefined) deps.failureLimiter?.take(key);
          if (error instanceof DeviceAuthError && error.code === 'replayed') {
            await core.store
              .appendAudit({
                at: Date.now(),
                actor: `device:${error.deviceId}`,
                action: 'authenticate',
                outcome: 'refused',
                deviceId: error.deviceId ?? null,
                reason: 'replayed',
                remote,
              })
              .catch(() => {});
          }
        }
        sendError(res, error);
      } else if (error instanceof BrokerError && error.code === 'ERR_BROKER_STORE_UNAVAILABLE') {
        // The database is down or restarting: the client retries, the pool reconnects by itself.
        core.metrics.storeErrors.inc({ kind: 'unavailable' });
        core.logger.warn('store_unavailable', { route: routePath, cause: (error.cause as { code?: string } | undefined)?.code });
        sendError(
          res,
          new HttpError(503, 'store_unavailable', 'the broker cannot reach its database right now; retry later', {
            'retry-after': String(STORE_RETRY_AFTER_SECONDS),
          }),
        );
      } else {
        // The message may come from a dependency: log its class and code only.
        if (error instanceof BrokerError && error.code === 'ERR_BROKER_STORE') core.metrics.storeErrors.inc({ kind: 'other' });
        core.logger.error('request_failed', { route: routePath, error: (error as Error)?.name, code: (error as { code?: string })?.code });
        sendError(res, new HttpError(500, 'internal', 'internal error'));
      }
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      core.metrics.observeRequest(routePath, req.method ?? 'GET', res.statusCode, ms / 1000);
      // Route pattern, never the raw URL: signed URLs carry their signature in the query.
      core.logger.info('request', {
        method: req.method,
        route: routePath,
        status: res.statusCode,
        ms: Math.round(ms * 100) / 100,
        remote,
        subject: ctx?.device?.id ?? ctx?.subject,
      });
    }
  };
}

async function authenticate(deps: HandlerDeps, route: Route, ctx: RequestContext): Promise<void> {
  const { core } = deps;
  const lockout = lockoutKey(route, ctx);
  if (lockout !== undefined && deps.failureLimiter?.exhausted(lockout)) {
    throw new HttpError(429, 'too_many_failures', `too many failed authentications for this ${lockout.split(':')[0]}`, {
      'retry-after': '30',
    });
  }
  switch (route.auth) {
    case 'public':
    case 'signed-url':
      return;
    case 'challenge':
    case 'enrolment':
      ctx.body = await readBody(ctx.req, route.bodyLimit ?? core.limits.jsonBytes);
      return;
    case 'admin':
      if (!isAdmin(core, ctx.req.headers.authorization) && !(core.adminMtls && (ctx.req.socket as TLSSocket).authorized === true)) {
        await core.store.appendAudit({
          at: ctx.now,
          actor: 'anonymous',
          action: 'admin_auth',
          outcome: 'refused',
          reason: 'unauthenticated',
          remote: ctx.remote,
        });
        throw new HttpError(
          401,
          'unauthenticated',
          `admin routes need ${core.adminTokenDigest ? '"Authorization: Bearer <admin token>"' : ''}${core.adminTokenDigest && core.adminMtls ? ' or ' : ''}${core.adminMtls ? 'an admin client certificate' : ''}`,
          { 'www-authenticate': 'Bearer' },
        );
      }
      ctx.subject = 'admin';
      return;
    case 'metrics':
      if (
        !isMetricsReader(core, ctx.req.headers.authorization) &&
        !isAdmin(core, ctx.req.headers.authorization) &&
        !(core.adminMtls && (ctx.req.socket as TLSSocket).authorized === true)
      ) {
        throw new HttpError(401, 'unauthenticated', 'metrics need "Authorization: Bearer <metrics token>" (or admin credentials)', {
          'www-authenticate': 'Bearer',
        });
      }
      ctx.subject = 'metrics';
      return;
    case 'device': {
      ctx.body = await readBody(ctx.req, core.limits.deviceBytes);
      const { device, nonce, nonceExpiresAt } = await core.authenticator.verify(ctx.req, ctx.body, ctx.now, {
        deferNonce: route.deferNonce === true,
      });
      ctx.device = device;
      ctx.nonce = nonce;
      ctx.nonceExpiresAt = nonceExpiresAt;
      return;
    }
  }
}
