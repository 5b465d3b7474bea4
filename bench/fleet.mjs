#!/usr/bin/env node
// Fleet benchmark (`pnpm bench:fleet`): N simulated devices, each with its own software device key
// (tpm-ecdh, the protocol a TPM key speaks), enrol with a token and fetch a model key — challenge,
// unwrap of the challenge secret, signed key request — against three set-ups in one run: one broker
// on SQLite, one on PostgreSQL, three on one PostgreSQL (requests spread round-robin, as a load
// balancer would). The no-op route (GET /healthz) of the same brokers is measured in the same run at
// the same concurrency, in phases alternating with the challenge and release phases so drift on a
// shared machine hits all of them; as in `pnpm bench:broker`, a release is timed on its own (its
// challenge fetched and unwrapped in the phase before).
//
// Floor: 0 errors; p99 of a key release (POST /v1/models/{id}/key) with three brokers <= 5 x the
// p99 of the no-op route with three brokers.
//
// Options: --devices N (default 1000; --devices 10000 for the full run), --concurrency C (default 4, as bench:broker),
//          --synchronous-commit on|off (PostgreSQL; default on, its default: each commit waits for its WAL flush),
//          --store-pool N (PostgreSQL connections over all brokers, split between them; default 8).
// Everything runs on this machine: brokers and PostgreSQL (a temporary cluster, default settings:
// fsync and synchronous_commit on) in their own processes, the devices in this one.
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createWrapContext, sealToBuffer } from '../packages/container/dist/index.js';
import { FileRecipient, generateKey, writeKeyFile } from '../packages/key-file/dist/index.js';
import { SoftwareEcdhIdentity } from '../packages/key-tpm/dist/index.js';
import { challengeWrapFields, signDeviceRequest, stanzaFromJson } from '../packages/broker-protocol/dist/index.js';
import { startPostgres } from '../test-fixtures/postgres.mjs';

const { values } = parseArgs({
  options: {
    devices: { type: 'string' },
    concurrency: { type: 'string' },
    'synchronous-commit': { type: 'string' },
    'store-pool': { type: 'string' },
  },
});
const DEVICES = Number(values.devices ?? 1000);
const CONCURRENCY = Number(values.concurrency ?? 4);
const SYNCHRONOUS_COMMIT = values['synchronous-commit'] ?? 'on';
// PostgreSQL connections over all brokers (each gets its share): a few per database core.
const POOL_TOTAL = Number(values['store-pool'] ?? 8);
const FLOOR_RATIO = 5;
const ROUNDS = 2;
const WARM_DEVICES = 60;
const ROUND_DEVICES = 2000;
const BROKER = fileURLToPath(new URL('../apps/key-broker/dist/bin.js', import.meta.url));
const adminToken = `bench-${randomBytes(18).toString('base64url')}`;
const work = mkdtempSync(join(tmpdir(), 'ovseal-bench-fleet-'));
const stops = [];
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

if (!Number.isSafeInteger(DEVICES) || DEVICES < 100 || !Number.isSafeInteger(CONCURRENCY) || CONCURRENCY < 1) {
  console.error('bench:fleet: --devices N (100 or more) and --concurrency C (1 or more)');
  process.exit(2);
}

async function startBroker(dataDir, keyFile, env = {}, args = []) {
  const child = spawn(
    process.execPath,
    [
      BROKER,
      '--data-dir',
      dataDir,
      '--identity',
      `file:${keyFile}`,
      '--port',
      '0',
      '--quiet',
      '--rate-limit',
      '0',
      '--device-rate-limit',
      '0',
      ...args,
    ],
    {
      env: { ...process.env, ...env, OVSEAL_BROKER_ADMIN_TOKEN: adminToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-10_000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  stops.push(close);
  const ready = await new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((text) => text.includes('"event":"ready"'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`broker exited (${code}): ${stderr}`)));
  });
  return { url: ready.url, close, stderr: () => stderr };
}

/** One HTTP request on the keep-alive agent; resolves with status and body text. */
function call(base, method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    // Bounded: a request that gets no answer in 60 s is an error, not a hung benchmark.
    const req = request(
      `${base}${path}`,
      { method, agent, signal: AbortSignal.timeout(60_000), headers: { ...headers, ...(body ? { 'content-length': body.length } : {}) } },
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

const json = (value) => Buffer.from(JSON.stringify(value));

/** Runs `fn` over the items with bounded concurrency; latencies in ms per item (one or more timers), errors counted. */
async function measure(items, fn) {
  const timers = {};
  let errors = 0;
  const firstErrors = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) {
        const index = next++;
        try {
          const timed = await fn(items[index], index);
          for (const [name, ms] of Object.entries(timed)) (timers[name] ??= []).push(ms);
        } catch (error) {
          errors++;
          if (firstErrors.length < 3) firstErrors.push(error.message);
        }
      }
    }),
  );
  return { timers, errors, firstErrors, seconds: Number(process.hrtime.bigint() - started) / 1e9, count: items.length };
}

function stats(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { n: sorted.length, p50: pick(0.5), p99: pick(0.99) };
}

const since = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

async function checked(promise, what) {
  const { status, text } = await promise;
  if (status < 200 || status >= 300) throw new Error(`${what}: ${status} ${text.slice(0, 160)}`);
  return text ? JSON.parse(text) : {};
}

/** One set-up: brokers up, model, token and grant registered, then enrol, no-op and key phases. */
async function runScenario(name, urls, allDevices, modelBytes) {
  // The first WARM_DEVICES enrol and fetch before measuring (JIT, store connections, caches).
  const warm = allDevices.slice(0, WARM_DEVICES);
  const devices = allDevices.slice(WARM_DEVICES);
  const pick = (index) => urls[index % urls.length];
  const admin = (method, path, body, type = 'application/json') =>
    checked(call(urls[0], method, path, { authorization: `Bearer ${adminToken}`, 'content-type': type }, body), `${method} ${path}`);
  const model = await admin('POST', '/v1/admin/models', modelBytes, 'application/octet-stream');
  const token = await admin(
    'POST',
    '/v1/admin/enrolment-tokens',
    json({ labels: ['fleet'], ttlSeconds: 3600, maxUses: allDevices.length, deviceIdPattern: 'bench-*' }),
  );
  await admin('POST', '/v1/admin/grants', json({ label: 'fleet', model: 'bench', ttlSeconds: 3600, maxReleases: allDevices.length * 2 }));
  const keyPath = `/v1/models/${encodeURIComponent(model.id)}/key`;

  const enrolOne = async (device, index) => {
    const t0 = process.hrtime.bigint();
    await checked(
      call(
        pick(index),
        'POST',
        '/v1/enrol',
        { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
        json({ deviceId: device.id, publicKeyPem: device.identity.publicKeyPem }),
      ),
      'enrol',
    );
    return { enrol: since(t0) };
  };

  /** A device fetching its key: challenge, unwrap (device side), signed key request. */
  /** Device side, before the release: a challenge from the broker, unwrapped, and the signed key request. */
  async function prepare(device, index) {
    const base = pick(index + 1);
    const t0 = process.hrtime.bigint();
    const challenge = await checked(
      call(base, 'POST', '/v1/challenges', { 'content-type': 'application/json' }, json({ deviceId: device.id })),
      'challenge',
    );
    const secret = await device.identity.unwrap(
      [stanzaFromJson(challenge.stanza)],
      createWrapContext(challengeWrapFields(challenge.nonce, device.id)),
    );
    if (!secret) throw new Error('the challenge does not unwrap');
    const body = json({ requestId: randomUUID() });
    const authorization = signDeviceRequest(secret, {
      method: 'POST',
      path: keyPath,
      deviceId: device.id,
      nonce: challenge.nonce,
      timestamp: Date.now(),
      body,
    });
    device.prepared = { base, body, authorization };
    return { challenge: since(t0) };
  }
  /** The key release (what the floor is about): the prepared request, the released stanza kept to check after. */
  async function release(device) {
    const { base, body, authorization } = device.prepared;
    const t0 = process.hrtime.bigint();
    device.release = await checked(call(base, 'POST', keyPath, { authorization, 'content-type': 'application/json' }, body), 'key');
    return { key: since(t0) };
  }
  /** Outside the timing: the released stanza opens with this device's key (and only its key). */
  async function checkReleased(device) {
    const { stanza, containerId, name, version } = device.release;
    const key = await device.identity.unwrap(
      [stanzaFromJson(stanza)],
      createWrapContext({ containerId: Buffer.from(containerId, 'hex'), modelName: name, modelVersion: version }),
    );
    if (!key || key.length !== 32) throw new Error('the released key does not unwrap on the device');
    return {};
  }
  const noop = async (_, index) => {
    const t0 = process.hrtime.bigint();
    const { status } = await call(pick(index), 'GET', '/healthz');
    if (status !== 200) throw new Error(`healthz ${status}`);
    return { noop: since(t0) };
  };

  // Warm-up (JIT, sockets, store connections): not measured.
  await measure(Array.from({ length: 200 }), noop);
  await measure(warm, enrolOne);
  await measure(warm, prepare);
  await measure(warm, release);
  const enrol = await measure(devices, enrolOne);
  // Rounds of at most ROUND_DEVICES (a challenge lives 60 s): no-op phase, then the devices'
  // challenges, then their key releases, each timed alone so each runs on a machine doing only it.
  const phases = { noop: [], prepare: [], release: [], check: [] };
  const rounds = Math.max(ROUNDS, Math.ceil(devices.length / ROUND_DEVICES));
  const share = Math.ceil(devices.length / rounds);
  for (let round = 0; round < rounds; round++) {
    const slice = devices.slice(round * share, (round + 1) * share);
    phases.noop.push(await measure(slice, noop));
    phases.prepare.push(await measure(slice, prepare));
    phases.release.push(
      await measure(
        slice.filter((device) => device.prepared),
        release,
      ),
    );
    phases.check.push(
      await measure(
        slice.filter((device) => device.release),
        checkReleased,
      ),
    );
    for (const device of slice) (delete device.prepared, delete device.release);
  }
  const all = (list, timer) => list.flatMap((phase) => phase.timers[timer] ?? []);
  const seconds = (list) => list.reduce((sum, phase) => sum + phase.seconds, 0);
  const done = (list) => list.reduce((sum, phase) => sum + phase.count - phase.errors, 0);
  const measured = [enrol, ...phases.noop, ...phases.prepare, ...phases.release, ...phases.check];
  return {
    name,
    enrolPerSecond: enrol.count / enrol.seconds,
    enrol: stats(enrol.timers.enrol ?? []),
    releasesPerSecond: done(phases.release) / seconds(phases.release),
    flowPerSecond: done(phases.release) / (seconds(phases.prepare) + seconds(phases.release)),
    challenge: stats(all(phases.prepare, 'challenge')),
    key: stats(all(phases.release, 'key')),
    noop: stats(all(phases.noop, 'noop')),
    errors: measured.reduce((sum, phase) => sum + phase.errors, 0),
    firstErrors: measured.flatMap((phase) => phase.firstErrors).slice(0, 3),
  };
}

let failed = false;
const guard = setTimeout(() => {
  console.error('bench:fleet: over 20 minutes, stopping');
  void Promise.all(stops.map((stop) => stop())).then(() => process.exit(1));
}, 20 * 60_000);

try {
  console.log(
    `fleet bench: ${DEVICES} devices (own P-256 key each; the first ${WARM_DEVICES} warm up, unmeasured) enrol, then fetch a key each; concurrency ${CONCURRENCY}; ${ROUNDS} alternating no-op/key rounds`,
  );
  console.log(
    `PostgreSQL synchronous_commit=${SYNCHRONOUS_COMMIT}, ${POOL_TOTAL} connections over the brokers; SQLite synchronous=NORMAL (the broker's default)`,
  );
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; brokers and PostgreSQL in their own processes, devices here`,
  );
  const kek = generateKey();
  const keyFile = join(work, 'broker.key');
  await writeKeyFile(keyFile, kek);
  const modelBytes = Buffer.from(
    await sealToBuffer({
      entries: [{ name: 'm.onnx', role: 'onnx', data: randomBytes(64 * 1024) }],
      metadata: { name: 'bench', version: '1.0.0' },
      recipients: [new FileRecipient(kek)],
    }),
  );
  const t0 = Date.now();
  const devices = Array.from({ length: DEVICES }, (_, index) => ({
    id: `bench-${index}`,
    identity: new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
  }));
  console.log(`${DEVICES} device keys made in ${Date.now() - t0} ms`);
  const pg = await startPostgres({ fsync: true, maxConnections: 100, settings: { synchronous_commit: SYNCHRONOUS_COMMIT } });
  stops.push(() => pg.remove());

  const results = [];
  {
    const broker = await startBroker(join(work, 'sqlite'), keyFile);
    results.push(await runScenario('1 broker, SQLite', [broker.url], devices, modelBytes));
    await broker.close();
  }
  {
    const storeUrl = await pg.createDatabase('one_broker');
    const broker = await startBroker(join(work, 'pg-1'), keyFile, { OVSEAL_BROKER_STORE: storeUrl }, ['--store-pool', String(POOL_TOTAL)]);
    results.push(await runScenario('1 broker, PostgreSQL', [broker.url], devices, modelBytes));
    await broker.close();
  }
  {
    const storeUrl = await pg.createDatabase('three_brokers');
    const brokers = await Promise.all(
      [0, 1, 2].map(() =>
        startBroker(join(work, 'pg-3'), keyFile, { OVSEAL_BROKER_STORE: storeUrl }, [
          '--store-pool',
          String(Math.max(1, Math.round(POOL_TOTAL / 3))),
        ]),
      ),
    );
    results.push(
      await runScenario(
        '3 brokers, PostgreSQL',
        brokers.map((broker) => broker.url),
        devices,
        modelBytes,
      ),
    );
    await Promise.all(brokers.map((broker) => broker.close()));
  }

  const f = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-').padStart(8);
  const head = ['enrol/s', 'enr p50', 'enr p99', 'chal p50', 'chal p99', 'rel/s', 'key p50', 'key p99', 'flow/s', 'noop p50', 'noop p99']
    .map((h) => h.padStart(8))
    .join(' ');
  console.log(`\n${'set-up'.padEnd(24)} ${head} ${'errors'.padStart(7)}`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(24)} ${f(r.enrolPerSecond, 0)} ${f(r.enrol.p50)} ${f(r.enrol.p99)} ${f(r.challenge.p50)} ${f(r.challenge.p99)} ${f(r.releasesPerSecond, 0)} ${f(r.key.p50)} ${f(r.key.p99)} ${f(r.flowPerSecond, 0)} ${f(r.noop.p50, 2)} ${f(r.noop.p99, 2)} ${String(r.errors).padStart(7)}`,
    );
    for (const error of r.firstErrors) console.log(`  ${r.name}: ${error}`);
  }
  console.log(
    '(latencies in ms. enrol: POST /v1/enrol. chal: the device side before a release — POST /v1/challenges and its unwrap with the device key. key: POST /v1/models/{id}/key with that proof, the release itself (proof, nonce, grant, count, audit, re-wrap). rel/s: key releases per second; flow/s: challenge + release per second. noop: GET /healthz at the same concurrency. Every released stanza is then opened with its device key, outside the timing.)',
  );
  const three = results[2];
  const ratio = three.key.p99 / three.noop.p99;
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  console.log(
    `\n3 brokers: p99 key / p99 no-op = ${ratio.toFixed(2)} (floor: <= ${FLOOR_RATIO}); errors over every set-up: ${errors} (floor: 0)`,
  );
  failed = ratio > FLOOR_RATIO || errors > 0;
  console.log(failed ? 'FAIL: below the floor' : 'PASS');
} catch (error) {
  console.error(`bench:fleet failed: ${error.stack ?? error}`);
  failed = true;
} finally {
  clearTimeout(guard);
  agent.destroy();
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
}
