import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BrokerClient } from './broker-client.js';
import { EdgeRunnerError } from './errors.js';
import type { RunnerConfig } from './load-runner-config.js';
import { openDeviceKey, type DeviceKey } from './open-device-key.js';
import { createRunnerHandler } from './lib/http-server.js';
import { stderrLog, type RunnerLog } from './lib/log.js';
import { RunnerMetrics } from './lib/metrics.js';
import { ModelManager } from './lib/model-manager.js';

/** A running edge runner. */
export interface EdgeRunner {
  readonly url: string;
  readonly port: number;
  readonly deviceKey: DeviceKey;
  /** The runner's Prometheus registry (what `GET /metrics` serves). */
  readonly metrics: RunnerMetrics;
  /** Runs one broker exchange now (the poll does it every `pollSeconds`). */
  syncNow(): Promise<void>;
  /** Stops the server and the poll, releases every model (the runtimes' memory, the loader's plaintext). */
  close(): Promise<void>;
  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void>;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** Options of {@link startEdgeRunner} beyond the config file. */
export interface EdgeRunnerOptions {
  /** Where log lines go (default stderr). */
  readonly log?: RunnerLog;
  /** Node's process metrics on `/metrics` (process-wide: the command turns them on). */
  readonly processMetrics?: boolean;
}

/**
 * Starts the device side: serves what its cache holds (the device-wrapped keys on disk need this
 * device's TPM, so this works offline), then polls the broker — new versions are downloaded
 * (resumable), their keys fetched and cached, and they replace the old version; a revoked device
 * or grant, or a not-after date that passes, stops the model being served. Inference:
 * `POST /v1/infer`; health: `GET /healthz`.
 *
 * @example
 * ```ts
 * const runner = await startEdgeRunner(await loadRunnerConfig('/etc/ovseal/edge.json'));
 * process.on('SIGTERM', () => void runner.close());
 * ```
 */
export async function startEdgeRunner(config: RunnerConfig, options: EdgeRunnerOptions = {}): Promise<EdgeRunner> {
  const log = options.log ?? stderrLog();
  if (!config.trust || config.trust.publicKeys.length === 0) {
    throw new EdgeRunnerError('ERR_RUNNER_CONFIG', 'the runner needs a publisher to trust: it loads only models signed by one', {
      hint: 'add the publisher public key (from `ovseal sign-keygen`) to "trust" in the config',
    });
  }
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const deviceKey = await openDeviceKey(config.deviceKey);
  if (deviceKey.storage === 'file')
    log('WARNING: the device key is a FILE, not a TPM key: anyone who copies it can impersonate this device');
  const metrics = new RunnerMetrics({ processMetrics: options.processMetrics ?? false });
  const client = new BrokerClient({
    brokerUrls: config.brokerUrls,
    deviceId: config.deviceId,
    identity: deviceKey.identity,
    tls: config.brokerTls,
    attestation: deviceKey.attestation,
    onAttempt(broker, outcome) {
      metrics.brokerRequests.inc({ broker, outcome });
      if (outcome === 'unavailable' && config.brokerUrls.length > 1) {
        metrics.failovers.inc();
        log(`broker ${broker} unavailable: trying the next one`);
      }
    },
  });
  const manager = new ModelManager(config, deviceKey, client, log, metrics);
  await manager.loadFromCache();
  if (manager.served.size > 0) log(`serving ${[...manager.served.values()].map((m) => m.id).join(', ')} from the cache`);

  if (config.inferToken === undefined && !isLoopbackHost(config.listen.host)) {
    log(
      `WARNING: listening on ${config.listen.host} without an inferToken: anyone who reaches this port can run the model (set "inferToken", or listen on 127.0.0.1)`,
    );
  }
  const handle = createRunnerHandler({
    manager,
    metrics,
    deviceId: config.deviceId,
    deviceKeyStorage: deviceKey.storage,
    inferToken: config.inferToken,
    maxInferBytes: config.maxInferBytes,
    log,
  });
  // The handler answers every failure itself; its promise never rejects.
  const server = createServer((req, res) => void handle(req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 120_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${port}`;

  let stopping = false;
  let pollTimer: NodeJS.Timeout | undefined;
  const poll = async () => {
    await manager.sync().catch((error: Error) => log(`sync failed: ${error.message}`));
    await manager.expire();
    if (!stopping) pollTimer = setTimeout(() => void poll(), config.pollSeconds * 1000);
  };
  const expiryTimer = setInterval(() => void manager.expire(), 1000);
  void poll();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stopping = true;
      clearTimeout(pollTimer);
      clearInterval(expiryTimer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await manager.stopAll();
    })();
    return closing;
  };
  return { url, port, deviceKey, metrics, syncNow: () => manager.sync(), close, [Symbol.asyncDispose]: close };
}
