#!/usr/bin/env node
// Key broker load test (`pnpm bench:broker`): drives the device key endpoint
// (POST /v1/models/{id}/key: proof verification, nonce use, grant check and count, audit record,
// KMS unwrap — cached — and the re-wrap to the device key) of a real broker process on loopback,
// next to its no-op route (GET /healthz) measured in the same run, with a bounded number of
// requests. The device side (challenge + proof) is precomputed with a file device key: the bench
// measures the broker, not the device's TPM.
//
// Floor: zero errors, and p99(key) <= 5 x p99(no-op).
//
// Options: --requests N (key requests, default 2000), --concurrency C (default 4),
//          --durability normal|full (SQLite, default normal: the broker's default).
// BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the broker process.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createWrapContext, seal } from '../packages/container/dist/index.js';
import { kmsRecipientFromUri } from '../packages/key-kms/dist/index.js';
import { startKmsLocal } from '../packages/kms-local/dist/index.js';
import { challengeWrapFields, signDeviceRequest, stanzaFromJson } from '../packages/broker-protocol/dist/index.js';
import { FileDeviceKey } from '../apps/edge-runner/dist/index.js';
import { ocrModels } from '../test-fixtures/index.mjs';

const { values } = parseArgs({
  options: { requests: { type: 'string' }, concurrency: { type: 'string' }, durability: { type: 'string' } },
});
const REQUESTS = Number(values.requests ?? 2000);
const CONCURRENCY = Number(values.concurrency ?? 4);
const DURABILITY = values.durability ?? 'normal';
const ROUNDS = 2; // alternate no-op / key phases, so drift on a shared machine hits both alike
const FLOOR_RATIO = 5;
const BROKER = fileURLToPath(new URL('../apps/key-broker/dist/bin.js', import.meta.url));
const adminToken = `bench-${randomBytes(18).toString('base64url')}`;
const work = mkdtempSync(join(tmpdir(), 'ovseal-bench-broker-'));
const stops = [];

async function startBroker(env) {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_BROKER_NODE_ARGS ? process.env.BENCH_BROKER_NODE_ARGS.split(' ') : []),
      BROKER,
      '--data-dir',
      join(work, 'broker'),
      '--identity',
      env.identity,
      '--port',
      '0',
      '--quiet',
      '--rate-limit',
      '0',
      '--device-rate-limit',
      '0',
      '--kms-cache-ttl',
      '300',
      '--kms-cache-uses',
      String(REQUESTS * 10),
      '--durability',
      DURABILITY,
    ],
    { env: { ...process.env, ...env.vars, OVSEAL_BROKER_ADMIN_TOKEN: adminToken }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  stops.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((text) => text.includes('"event":"ready"'));
      if (line) resolve({ ...JSON.parse(line), stderr: () => stderr });
    });
    child.once('exit', (code) => reject(new Error(`broker exited (${code}): ${stderr}`)));
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

/** One HTTP request on the keep-alive agent; resolves with status and body text. */
function call(base, method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method, agent, headers: { ...headers, ...(body ? { 'content-length': body.length } : {}) } },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function pool(items, concurrency, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        await fn(items[index], index);
      }
    }),
  );
}

/** Runs the requests with bounded concurrency; per-request latency in ms, errors counted. */
async function measure(requests, send) {
  const latencies = new Float64Array(requests.length);
  let errors = 0;
  const firstErrors = [];
  const started = process.hrtime.bigint();
  await pool(requests, CONCURRENCY, async (item, index) => {
    const t0 = process.hrtime.bigint();
    try {
      const { status, text } = await send(item);
      if (status !== 200) {
        errors++;
        if (firstErrors.length < 3) firstErrors.push(`${status} ${text.slice(0, 120)}`);
      }
    } catch (error) {
      errors++;
      if (firstErrors.length < 3) firstErrors.push(error.message);
    }
    latencies[index] = Number(process.hrtime.bigint() - t0) / 1e6;
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { latencies, errors, firstErrors, seconds };
}

function summarize(name, phases) {
  const all = Float64Array.from(phases.flatMap((phase) => [...phase.latencies])).sort();
  const pick = (q) => all[Math.min(all.length - 1, Math.floor(q * all.length))];
  const seconds = phases.reduce((sum, phase) => sum + phase.seconds, 0);
  return {
    name,
    requests: all.length,
    throughput: all.length / seconds,
    p50: pick(0.5),
    p99: pick(0.99),
    max: all[all.length - 1],
    errors: phases.reduce((sum, phase) => sum + phase.errors, 0),
    firstErrors: phases.flatMap((phase) => phase.firstErrors).slice(0, 3),
  };
}

let failed = false;
const guard = setTimeout(() => {
  console.error('bench: over 5 minutes, stopping');
  void Promise.all(stops.map((stop) => stop())).then(() => process.exit(1));
}, 300_000);

try {
  console.log(
    `key broker bench: ${REQUESTS} key requests and ${REQUESTS} no-op requests, concurrency ${CONCURRENCY}, ${ROUNDS} alternating rounds, SQLite durability ${DURABILITY}`,
  );
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; broker in its own process, client here`,
  );
  const kms = await startKmsLocal();
  stops.push(() => kms.close());
  const key = await kms.createKey({ alias: 'alias/bench' });
  const vars = {
    AWS_ENDPOINT_URL_KMS: kms.endpoint,
    AWS_REGION: kms.region,
    AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
  };
  const containerPath = join(work, 'detector.ovseal');
  await seal({
    output: containerPath,
    entries: [{ name: 'det.onnx', role: 'onnx', path: ocrModels.detector }],
    metadata: { name: 'ppocr-det', version: '4.0.0', format: 'onnx' },
    recipients: [kmsRecipientFromUri(`aws-kms:${key.arn}`, { endpoint: kms.endpoint, region: kms.region, credentials: kms.credentials })],
  });
  const broker = await startBroker({ identity: `aws-kms:${key.arn}`, vars });
  const admin = (method, path, body, type = 'application/json') =>
    call(broker.url, method, path, { authorization: `Bearer ${adminToken}`, 'content-type': type }, body).then((r) => {
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
      return JSON.parse(r.text);
    });
  const model = await admin('POST', '/v1/admin/models', readFileSync(containerPath), 'application/octet-stream');
  const device = await FileDeviceKey.generate(join(work, 'device.pem'));
  await admin('POST', '/v1/admin/devices', Buffer.from(JSON.stringify({ id: 'bench-device', publicKeyPem: device.publicKeyPem })));
  await admin(
    'POST',
    '/v1/admin/grants',
    Buffer.from(JSON.stringify({ device: 'bench-device', model: 'ppocr-det', ttlSeconds: 3600, maxReleases: REQUESTS * 2 })),
  );
  const path = `/v1/models/${encodeURIComponent(model.id)}/key`;

  /** Signed key requests, precomputed (a challenge each, unwrapped with the device key). */
  async function prepare(count) {
    const prepared = new Array(count);
    await pool(prepared, CONCURRENCY, async (_, index) => {
      const { text } = await call(
        broker.url,
        'POST',
        '/v1/challenges',
        { 'content-type': 'application/json' },
        Buffer.from(JSON.stringify({ deviceId: 'bench-device' })),
      );
      const challenge = JSON.parse(text);
      const secret = await device.unwrap(
        [stanzaFromJson(challenge.stanza)],
        createWrapContext(challengeWrapFields(challenge.nonce, 'bench-device')),
      );
      const body = Buffer.from('{}');
      prepared[index] = {
        body,
        authorization: signDeviceRequest(secret, {
          method: 'POST',
          path,
          deviceId: 'bench-device',
          nonce: challenge.nonce,
          timestamp: Date.now(),
          body,
        }),
      };
    });
    return prepared;
  }
  const sendKey = (item) =>
    call(broker.url, 'POST', path, { authorization: item.authorization, 'content-type': 'application/json' }, item.body);
  const sendNoop = () => call(broker.url, 'GET', '/healthz');

  // Warm-up (JIT, sockets, the KMS data-key cache): not measured.
  await measure(Array.from({ length: 200 }), sendNoop);
  await measure(await prepare(50), sendKey);
  const kmsDecryptsBefore = kms.requests.filter((r) => r.operation === 'Decrypt').length;

  const noopPhases = [];
  const keyPhases = [];
  const perRound = Math.ceil(REQUESTS / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    const signed = await prepare(perRound); // fresh nonces: challenges live 60 s
    noopPhases.push(await measure(Array.from({ length: perRound }), sendNoop));
    keyPhases.push(await measure(signed, sendKey));
  }
  const kmsDecrypts = kms.requests.filter((r) => r.operation === 'Decrypt').length - kmsDecryptsBefore;

  const rows = [summarize('GET /healthz (no-op)', noopPhases), summarize('POST /v1/models/{id}/key', keyPhases)];
  const fmt = (n, digits = 2) => n.toFixed(digits).padStart(9);
  console.log(
    `\n${'route'.padEnd(28)} ${'requests'.padStart(8)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'max ms'.padStart(9)} ${'errors'.padStart(7)}`,
  );
  for (const row of rows)
    console.log(
      `${row.name.padEnd(28)} ${String(row.requests).padStart(8)} ${fmt(row.throughput, 0)} ${fmt(row.p50)} ${fmt(row.p99)} ${fmt(row.max)} ${String(row.errors).padStart(7)}`,
    );
  for (const row of rows) for (const error of row.firstErrors) console.log(`  ${row.name}: ${error}`);
  const [noop, keyRoute] = rows;
  const ratio = keyRoute.p99 / noop.p99;
  console.log(`\nKMS Decrypt calls during the measured key requests: ${kmsDecrypts} (the broker's data-key cache)`);
  console.log(`p99 key / p99 no-op = ${ratio.toFixed(2)} (floor: <= ${FLOOR_RATIO}); errors: ${noop.errors + keyRoute.errors} (floor: 0)`);
  failed = ratio > FLOOR_RATIO || noop.errors + keyRoute.errors > 0;
  console.log(failed ? 'FAIL: below the floor' : 'PASS');
} catch (error) {
  console.error(`bench failed: ${error.stack ?? error}`);
  failed = true;
} finally {
  clearTimeout(guard);
  agent.destroy();
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
}
