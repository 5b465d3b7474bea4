// A broker killed mid-load. Three broker processes on one real PostgreSQL; devices (software
// tpm-ecdh keys, the edge runner's own BrokerClient) fetch keys in a loop through the list of
// brokers while the first one is SIGKILLed; edge runner processes keep serving inference and keep
// syncing through the others. Every release a device received is counted exactly once and audited
// — a request whose answer died with the broker is retried elsewhere under the same request id.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seal } from '@ovseal/container';
import { FileRecipient, generateKey, writeKeyFile } from '@ovseal/key-file';
import { SoftwareEcdhIdentity } from '@ovseal/key-tpm';
import { ocrModels } from '@ovseal/test-fixtures';
import type { TestPostgres } from '@ovseal/test-fixtures/postgres';
import { BrokerClient } from '../src/index.js';
import {
  admin,
  ADMIN_TOKEN,
  allAudit,
  describeWithPostgres,
  edge,
  health,
  newPostgres,
  PUBLISHER,
  spawnRunner,
  spawnStoreBroker,
  tempDir,
  waitFor,
  writeConfig,
  type BrokerProcess,
  type Spawned,
} from './helpers.js';

const DEVICES = 12;
const ROUNDS_BEFORE_KILL = 3;

describeWithPostgres('edge runners and devices fail over when a broker dies mid-load (three brokers, one PostgreSQL)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let pg: TestPostgres;
  let brokers: BrokerProcess[];
  let kek: Uint8Array;
  const runners: Spawned[] = [];
  const api = (index: number) => admin(() => brokers[index]!.url);

  async function sealClassifier(version: string): Promise<Buffer> {
    const output = join(work.path, `cls-${version}.ovseal`);
    await seal({
      output,
      entries: [{ name: 'cls.onnx', role: 'onnx', path: ocrModels.classifier }],
      metadata: { name: 'cls', version, format: 'onnx' },
      recipients: [new FileRecipient(kek)],
      signer: PUBLISHER.privateKeyPem,
    });
    return readFile(output);
  }

  async function infer(runner: Spawned): Promise<number> {
    const data = Buffer.alloc(1 * 3 * 48 * 192 * 4);
    const response = await fetch(`${runner.url}/v1/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: { x: { type: 'float32', dims: [1, 3, 48, 192], base64: data.toString('base64') } } }),
    });
    await response.arrayBuffer();
    return response.status;
  }

  beforeAll(async () => {
    work = await tempDir('ovseal-failover-');
    pg = await newPostgres();
    const storeUrl = await pg.createDatabase('fleet');
    kek = generateKey();
    await writeKeyFile(join(work.path, 'broker.key'), kek);
    brokers = await Promise.all(
      [0, 1, 2].map(() =>
        spawnStoreBroker({ dataDir: join(work.path, 'shared'), storeUrl, identity: `file:${join(work.path, 'broker.key')}` }),
      ),
    );
    expect((await api(0).post('/v1/admin/models', await sealClassifier('1.0.0'))).status).toBe(201);
    expect((await api(1).post('/v1/admin/grants', { label: 'load', model: 'cls', ttlSeconds: 3600, maxReleases: 100_000 })).status).toBe(
      201,
    );
    // Two edge runners whose list starts with the broker that will die.
    for (const name of ['edge-r1', 'edge-r2']) {
      const config = await writeConfig(work.path, name, {
        deviceId: name,
        dataDir: name,
        brokerUrls: brokers.map((broker) => broker.url),
        deviceKey: { kind: 'file', path: `${name}.pem` },
        runtime: 'onnxruntime',
      });
      expect((await edge('init', '--config', config)).code).toBe(0);
      const publicKey = JSON.parse((await edge('public-key', '--config', config, '--json')).stdout) as Record<string, string>;
      expect((await api(2).post('/v1/admin/devices', { ...publicKey, labels: ['load'] })).status).toBe(201);
      runners.push(await spawnRunner(config));
    }
  });

  afterAll(async () => {
    await Promise.all(runners.map((runner) => runner.close()));
    await Promise.all((brokers ?? []).map((broker) => broker.close()));
    await pg?.remove();
    await work?.remove();
  });

  it('keeps serving and releasing through the other brokers; every release counted once and audited', async () => {
    for (const runner of runners)
      await waitFor('the runner to serve cls@1.0.0', async () => (await health(runner)).models.some((model) => model.id === 'cls@1.0.0'));

    const devices = await Promise.all(
      Array.from({ length: DEVICES }, async (_, index) => {
        const identity = new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
        const id = `load-${index}`;
        expect((await api(index % 3).post('/v1/admin/devices', { id, publicKeyPem: identity.publicKeyPem, labels: ['load'] })).status).toBe(
          201,
        );
        // Each device lists the brokers from a different one (a spread like a load balancer's), all with the doomed one.
        const urls = [0, 1, 2].map((step) => brokers[(index + step) % 3]!.url);
        return { id, client: new BrokerClient({ brokerUrls: urls, deviceId: id, identity, timeoutMs: 10_000 }) };
      }),
    );

    const delivered: string[] = [];
    const failures: string[] = [];
    let rounds = 0;
    let killedAt: number | undefined = undefined;
    const load = async (device: (typeof devices)[number]) => {
      // Bounded: each loop stops a few rounds after the kill (200 rounds at most).
      for (let round = 0; round < 200 && !(killedAt !== undefined && round > killedAt + 4); round += 1) {
        const requestId = randomBytes(12).toString('base64url');
        try {
          await device.client.requestKey('cls@1.0.0', requestId);
          delivered.push(`${device.id}/${requestId}`);
        } catch (error) {
          failures.push(`${device.id}: ${(error as Error).message}`);
        }
        if (device === devices[0]) rounds = round;
      }
    };
    const running = Promise.all(devices.map(load));
    await waitFor('load to build up', async () => rounds >= ROUNDS_BEFORE_KILL, 60_000);
    killedAt = rounds;
    await brokers[0]!.kill();
    // Meanwhile the runners keep serving what they loaded.
    for (const runner of runners) expect(await infer(runner)).toBe(200);
    await running;

    expect(failures).toEqual([]);
    expect(devices.reduce((sum, device) => sum + device.client.failovers, 0)).toBeGreaterThan(0);
    const grants = (await api(1).get('/v1/admin/grants')).body.grants as { model: string; releases: number }[];
    const runnerReleases = 2; // one key each for cls@1.0.0
    expect(grants[0]!.releases).toBe(delivered.length + runnerReleases);
    const audit = await allAudit(api(2));
    expect(audit.filter((record) => record.action === 'key_release' && record.outcome === 'ok')).toHaveLength(
      delivered.length + runnerReleases,
    );

    // The runners fail over too: a new version registered now reaches them through the live brokers.
    expect((await api(2).post('/v1/admin/models', await sealClassifier('1.1.0'))).status).toBe(201);
    for (const runner of runners) {
      await waitFor('the runner to serve cls@1.1.0', async () => (await health(runner)).models.some((model) => model.id === 'cls@1.1.0'));
      expect((await health(runner)).broker.state).toBe('reachable');
      expect(await infer(runner)).toBe(200);
      const metrics = await (await fetch(`${runner.url}/metrics`)).text();
      expect(metrics).toMatch(/ovseal_edge_models_loaded 1/);
      expect(metrics).toMatch(/ovseal_edge_broker_failovers_total [1-9]/);
      expect(metrics).toMatch(/ovseal_edge_model_load_seconds_count\{runtime="onnxruntime"\} [2-9]/);
      expect(metrics).toMatch(/ovseal_edge_key_fetches_total\{outcome="ok"\} 2/);
    }
    const after = await (await fetch(`${brokers[1]!.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(after).toMatch(/ovseal_broker_key_releases_total\{kind="counted"\} [1-9]/);
  });
});
