import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { KMS_LOCAL_DEFAULTS } from './defaults.js';
import { createAdminRoutes } from './lib/admin-routes.js';
import { FaultQueue, type KmsLocalFault, type KmsLocalFaults } from './lib/faults.js';
import { KeyStore, type KeyRecord } from './lib/key-store.js';
import { KmsFault } from './lib/kms-fault.js';
import type { Principal } from './lib/principals.js';
import { createRequestHandler, type KmsLocalRequest } from './lib/request-handler.js';

/** A caller the server accepts: an access key pair, in an account (default: the server's). */
export interface KmsLocalPrincipal {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Required in `X-Amz-Security-Token` when set (temporary credentials). */
  readonly sessionToken?: string;
  readonly accountId?: string;
}

export interface KmsLocalOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port (read it from `port` / `endpoint`). */
  readonly port?: number;
  /** Where keys and aliases persist (JSON, written atomically). Default: memory only. */
  readonly stateFile?: string;
  /** Region of keys made by the helpers. Requests may be signed for any region. Default us-east-1. */
  readonly region?: string;
  /** Account of the default principal and of the helpers' keys. Default 111122223333. */
  readonly accountId?: string;
  /** Accepted callers. Default: one principal with {@link KMS_LOCAL_DEFAULTS}'s credentials. */
  readonly principals?: readonly KmsLocalPrincipal[];
  /** Mount the unauthenticated `/__kms-local/…` admin routes (faults, request log, key creation). */
  readonly adminApi?: boolean;
  /** The clock, in ms since the epoch (signature skew, deletion dates). Default `Date.now`. */
  readonly now?: () => number;
}

export interface CreateKeyOptions {
  readonly region?: string;
  readonly accountId?: string;
  readonly description?: string;
  /** An alias to create for the key, `alias/NAME`. */
  readonly alias?: string;
  /**
   * Who may use the key: access key ids, account ids, `arn:aws:iam::ACCOUNT:root` or `*`.
   * Default: every principal of the key's account.
   */
  readonly allowedPrincipals?: readonly string[];
  /** `SYMMETRIC_DEFAULT` (default, ENCRYPT_DECRYPT) or `ECC_NIST_P256` (SIGN_VERIFY, ECDSA_SHA_256). */
  readonly keySpec?: 'SYMMETRIC_DEFAULT' | 'ECC_NIST_P256';
}

/** A key as the helpers describe it. */
export interface KmsLocalKey {
  readonly keyId: string;
  readonly arn: string;
  readonly region: string;
  readonly accountId: string;
  readonly state: 'Enabled' | 'Disabled' | 'PendingDeletion';
  readonly keySpec: 'SYMMETRIC_DEFAULT' | 'ECC_NIST_P256';
  readonly keyUsage: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY';
  readonly aliases: readonly string[];
  /** Number of key material versions (1 + rotations). */
  readonly materialVersions: number;
}

/** A running kms-local server. */
export interface KmsLocal {
  /** `http://HOST:PORT`, for `new KMSClient({ endpoint })` or `AWS_ENDPOINT_URL_KMS`. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** The first principal's credentials. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  readonly stateFile: string | undefined;
  /** Fault injection (500s, throttling, delays, connection resets). */
  readonly faults: KmsLocalFaults;
  /** The last 1000 requests, oldest first. */
  readonly requests: readonly KmsLocalRequest[];
  createKey(options?: CreateKeyOptions): Promise<KmsLocalKey>;
  /** Creates `alias/NAME` for a key (id or ARN). */
  createAlias(aliasName: string, keyId: string): Promise<void>;
  /** A key by id, key ARN or alias name (aliases in the server's account and region); undefined if absent. */
  describeKey(keyId: string): KmsLocalKey | undefined;
  enableKey(keyId: string): Promise<void>;
  disableKey(keyId: string): Promise<void>;
  scheduleKeyDeletion(keyId: string, pendingWindowInDays?: number): Promise<void>;
  rotateKey(keyId: string): Promise<void>;
  /** Replaces a key's allowed principals (null: every principal of its account). */
  setAllowedPrincipals(keyId: string, principals: readonly string[] | null): Promise<void>;
  addPrincipal(principal: KmsLocalPrincipal): void;
  /** Closes the server (and every open connection) and waits for pending state writes. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void>;
}

const MAX_LOG = 1000;

/**
 * Starts a KMS-compatible server in this process, for tests and offline development. It speaks the
 * KMS JSON 1.1 protocol, verifies SigV4 signatures, and keeps its keys in memory or in a state file.
 * Not for production secrets: key material sits unprotected in the state file.
 *
 * @example
 * ```ts
 * const kms = await startKmsLocal({ stateFile: '/tmp/kms.json' });
 * const key = await kms.createKey({ alias: 'alias/models' });
 * const client = new KMSClient({ endpoint: kms.endpoint, region: kms.region, credentials: kms.credentials });
 * await client.send(new EncryptCommand({ KeyId: key.arn, Plaintext: new Uint8Array(32) }));
 * await kms.close();
 * ```
 */
export async function startKmsLocal(options: KmsLocalOptions = {}): Promise<KmsLocal> {
  const now = options.now ?? Date.now;
  const region = options.region ?? KMS_LOCAL_DEFAULTS.region;
  const accountId = options.accountId ?? KMS_LOCAL_DEFAULTS.accountId;
  const principals = new Map<string, Principal>();
  const addPrincipal = (spec: KmsLocalPrincipal): void => {
    principals.set(spec.accessKeyId, { ...spec, accountId: spec.accountId ?? accountId });
  };
  for (const spec of options.principals ?? [KMS_LOCAL_DEFAULTS]) addPrincipal(spec);
  const first = principals.values().next().value;
  if (first === undefined) throw new RangeError('kms-local needs at least one principal');

  const store = await KeyStore.open(options.stateFile, now);
  const faults = new FaultQueue();
  const log: KmsLocalRequest[] = [];
  let stopping = false;
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const entry = { timer: setTimeout(() => (timers.delete(entry), resolve()), ms), resolve };
      timers.add(entry);
    });

  const keyByIdOrArn = (keyId: string): KeyRecord => {
    const key = store.findKey(keyId);
    if (key === undefined) throw new KmsFault('NotFoundException', `kms-local: no key ${keyId}`);
    return key;
  };
  const describe = (key: KeyRecord): KmsLocalKey => ({
    keyId: key.keyId,
    arn: key.arn,
    region: key.region,
    accountId: key.accountId,
    state: key.state,
    keySpec: key.keySpec,
    keyUsage: key.keyUsage,
    aliases: store.aliasesOf(key),
    materialVersions: key.materials.length,
  });
  const createKey = async (spec: CreateKeyOptions = {}): Promise<KmsLocalKey> => {
    const key = store.createKey({
      accountId: spec.accountId ?? accountId,
      region: spec.region ?? region,
      description: spec.description ?? '',
      allowedPrincipals: spec.allowedPrincipals ?? null,
      keySpec: spec.keySpec ?? 'SYMMETRIC_DEFAULT',
    });
    if (spec.alias !== undefined) store.createAlias(spec.alias, key);
    await store.flush();
    return describe(key);
  };
  const mutate = async (keyId: string, change: (key: KeyRecord) => void): Promise<void> => {
    change(keyByIdOrArn(keyId));
    await store.flush();
  };

  const server = createServer(
    createRequestHandler({
      store,
      faults,
      findPrincipal: (accessKeyId) => principals.get(accessKeyId),
      now,
      sleep,
      stopping: () => stopping,
      record: (entry) => {
        log.push(entry);
        if (log.length > MAX_LOG) log.shift();
      },
      ...(options.adminApi
        ? {
            admin: createAdminRoutes({
              injectFault: (fault: KmsLocalFault) => faults.inject(fault),
              clearFaults: () => faults.clear(),
              requests: () => log,
              createKey: (spec) => createKey(spec as CreateKeyOptions),
            }),
          }
        : {}),
    }),
  );
  const sockets = trackSockets(server);
  const host = options.host ?? KMS_LOCAL_DEFAULTS.host;
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;

  const close = async () => {
    stopping = true;
    for (const entry of timers) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
    await store.flush().catch(() => undefined);
  };
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    host,
    port,
    region,
    accountId,
    credentials: {
      accessKeyId: first.accessKeyId,
      secretAccessKey: first.secretAccessKey,
      ...(first.sessionToken === undefined ? {} : { sessionToken: first.sessionToken }),
    },
    stateFile: options.stateFile,
    faults,
    get requests() {
      return [...log];
    },
    createKey,
    createAlias: async (aliasName, keyId) => {
      store.createAlias(aliasName, keyByIdOrArn(keyId));
      await store.flush();
    },
    describeKey: (keyId) => {
      const key = keyId.startsWith('alias/') ? store.findAlias(keyId, { accountId, region }) : store.findKey(keyId);
      return key === undefined ? undefined : describe(key);
    },
    enableKey: (keyId) => mutate(keyId, (key) => store.setState(key, 'Enabled')),
    disableKey: (keyId) => mutate(keyId, (key) => store.setState(key, 'Disabled')),
    scheduleKeyDeletion: (keyId, days = 30) =>
      mutate(keyId, (key) => store.setState(key, 'PendingDeletion', { date: now() + days * 86_400_000, windowInDays: days })),
    rotateKey: (keyId) => mutate(keyId, (key) => void store.rotate(key)),
    setAllowedPrincipals: (keyId, allowed) => mutate(keyId, (key) => store.setAllowedPrincipals(key, allowed)),
    addPrincipal,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}
