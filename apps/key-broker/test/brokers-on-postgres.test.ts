// Three broker processes on one real PostgreSQL database behave as one broker: release counts,
// nonces and enrolment tokens are exact across them, a proof used on one is refused by the others,
// a retried request id is counted once wherever it lands, and when PostgreSQL stops every broker
// answers 503 with Retry-After and recovers by itself when it is back, having lost nothing.
// Devices are software tpm-ecdh keys (the same protocol as a TPM key: no swtpm needed).
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sealToBuffer } from '@ovseal/container';
import { FileRecipient, generateKey, writeKeyFile } from '@ovseal/key-file';
import { SoftwareEcdhIdentity } from '@ovseal/key-tpm';
import type { TestPostgres } from '@ovseal/test-fixtures/postgres';
import { POSTGRES_MIGRATIONS } from '../src/lib/postgres-migrations/index.js';
import { challenge, deviceCall, keyPath, send, signRequest, type TestDevice } from './device.js';
import {
  admin,
  ADMIN_TOKEN,
  allAudit,
  describeWithPostgres,
  newPostgres,
  spawnStoreBroker,
  tempDir,
  waitFor,
  type BrokerProcess,
} from './helpers.js';

type Device = TestDevice & { publicKeyPem: string; keyId: string };

function newDevice(id: string): Device {
  const identity = new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  return { id, identity, publicKeyPem: identity.publicKeyPem, keyId: identity.keyId };
}

const MODEL = 'det@1.0.0';

describeWithPostgres('three brokers on one PostgreSQL (real processes)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let pg: TestPostgres;
  let brokers: BrokerProcess[];
  const api = (index = 0) => admin(() => brokers[index % brokers.length]!.url);
  const url = (index: number) => brokers[index % brokers.length]!.url;

  async function auditRecords(filter: (record: Record<string, any>) => boolean): Promise<Record<string, any>[]> {
    return (await allAudit(api(2))).filter(filter);
  }

  async function registerDevices(prefix: string, count: number, labels: string[]): Promise<Device[]> {
    const devices = Array.from({ length: count }, (_, index) => newDevice(`${prefix}-${index}`));
    for (const [index, device] of devices.entries()) {
      const created = await api(index).post('/v1/admin/devices', { id: device.id, publicKeyPem: device.publicKeyPem, labels });
      expect(created.status).toBe(201);
    }
    return devices;
  }

  beforeAll(async () => {
    work = await tempDir('ovseal-brokers-pg-');
    pg = await newPostgres();
    const storeUrl = await pg.createDatabase('fleet');
    const kek = generateKey();
    await writeKeyFile(join(work.path, 'broker.key'), kek);
    // One data dir for the three (containers shared, as on a shared volume); state is in PostgreSQL.
    brokers = await Promise.all(
      [0, 1, 2].map(() =>
        spawnStoreBroker({ dataDir: join(work.path, 'shared'), storeUrl, identity: `file:${join(work.path, 'broker.key')}` }),
      ),
    );
    const sealed = await sealToBuffer({
      entries: [{ name: 'm.onnx', role: 'onnx', data: randomBytes(20_000) }],
      metadata: { name: 'det', version: '1.0.0' },
      recipients: [new FileRecipient(kek)],
    });
    expect((await api(1).post('/v1/admin/models', Buffer.from(sealed))).status).toBe(201);
  });

  afterAll(async () => {
    await Promise.all((brokers ?? []).map((broker) => broker.close()));
    await pg?.remove();
    await work?.remove();
  });

  it('the brokers started together on an empty database and agree on the schema and the server secrets', async () => {
    expect(await pg.psql('SELECT id FROM schema_migrations ORDER BY id', 'fleet')).toBe(
      POSTGRES_MIGRATIONS.map((migration) => `${migration.id}\n`).join(''),
    );
    expect(await pg.psql("SELECT count(*) FROM secrets WHERE name IN ('challenge', 'container-urls')", 'fleet')).toBe('2\n');
    // A challenge from one broker is answered to another: the challenge secret is shared.
    const [device] = await registerDevices('roaming', 1, []);
    const signed = await signRequest(url(0), device!, 'GET', '/v1/models');
    expect((await send(url(1), signed)).status).toBe(200);
    for (const broker of brokers) expect(broker.stderr()).not.toContain(pg.password);
  });

  it('50 concurrent key requests over the three brokers against maxReleases 10: exactly 10 releases and 40 refusals, all audited', async () => {
    const devices = await registerDevices('race', 50, ['race']);
    const grant = await api().post('/v1/admin/grants', { label: 'race', model: 'det', ttlSeconds: 3600, maxReleases: 10 });
    expect(grant.status).toBe(201);
    // Proofs first, then all 50 requests at once.
    const requests = await Promise.all(
      devices.map((device, index) => signRequest(url(index), device, 'POST', keyPath(MODEL), { requestId: randomUUID() })),
    );
    const answers = await Promise.all(requests.map((request, index) => send(url(index), request)));
    const statuses = answers.map((answer) => (answer.status === 200 ? 'released' : `${answer.status} ${answer.body.error}`));
    expect(statuses.filter((status) => status === 'released')).toHaveLength(10);
    expect(statuses.filter((status) => status === '403 releases_exhausted')).toHaveLength(40);
    const stored = (await api(1).get('/v1/admin/grants')).body.grants.find((g: { id: string }) => g.id === grant.body.id);
    expect(stored.releases).toBe(10);
    const audited = await auditRecords((record) => record.action === 'key_release' && record.deviceId?.startsWith('race-'));
    expect(audited.filter((record) => record.outcome === 'ok')).toHaveLength(10);
    expect(audited.filter((record) => record.outcome === 'refused' && record.reason === 'releases_exhausted')).toHaveLength(40);
    // Each broker answered a third of the requests (the load was spread over all three).
    for (const broker of [0, 1, 2])
      expect(answers.filter((_, index) => index % 3 === broker).every((answer) => answer.status === 200 || answer.status === 403)).toBe(
        true,
      );
  });

  it('a proof used on one broker is refused by the others (one nonce table), and audited', async () => {
    const [device] = await registerDevices('replay', 1, ['replay']);
    await api().post('/v1/admin/grants', { label: 'replay', model: 'det', ttlSeconds: 3600, maxReleases: 5 });
    const request = await signRequest(url(0), device!, 'POST', keyPath(MODEL), { requestId: randomUUID() });
    expect((await send(url(0), request)).status).toBe(200);
    for (const index of [1, 2, 0]) {
      const replayed = await send(url(index), request);
      expect(replayed.status).toBe(401);
      expect(replayed.body.error).toBe('replayed');
    }
    expect(await auditRecords((record) => record.deviceId === device!.id && record.reason === 'replayed')).toHaveLength(3);
    // A refused request replayed is refused as a replay (its refusal is not written twice).
    const [ungranted] = await registerDevices('replay-refused', 1, []);
    const refused = await signRequest(url(1), ungranted!, 'POST', keyPath(MODEL), { requestId: randomUUID() });
    expect((await send(url(1), refused)).body.error).toBe('not_granted');
    for (const index of [2, 1]) expect((await send(url(index), refused)).body.error).toBe('replayed');
    expect(
      (await auditRecords((record) => record.deviceId === ungranted!.id && record.actor !== 'admin')).map((record) => record.reason),
    ).toEqual(['not_granted', 'replayed', 'replayed']);
  });

  it('a request id retried on another broker is answered again and counted once', async () => {
    const [device] = await registerDevices('retry', 1, ['retry']);
    const grant = await api().post('/v1/admin/grants', { label: 'retry', model: 'det', ttlSeconds: 3600, maxReleases: 2 });
    const requestId = randomUUID();
    const first = await deviceCall(url(0), device!, 'POST', keyPath(MODEL), { requestId });
    expect(first.status).toBe(200);
    expect(first.body.releasesLeft).toBe(1);
    const again = await deviceCall(url(2), device!, 'POST', keyPath(MODEL), { requestId });
    expect(again.status).toBe(200);
    expect(again.body.releasesLeft).toBe(1);
    expect(again.body.stanza.args).toEqual(first.body.stanza.args);
    const other = await deviceCall(url(1), device!, 'POST', keyPath(MODEL), { requestId: randomUUID() });
    expect(other.body.releasesLeft).toBe(0);
    // The counted request is still answered when the grant has nothing left; a new one is not.
    expect((await deviceCall(url(1), device!, 'POST', keyPath(MODEL), { requestId })).status).toBe(200);
    expect((await deviceCall(url(1), device!, 'POST', keyPath(MODEL), { requestId: randomUUID() })).body.error).toBe('releases_exhausted');
    const stored = (await api().get('/v1/admin/grants')).body.grants.find((g: { id: string }) => g.id === grant.body.id);
    expect(stored.releases).toBe(2);
    expect(
      await auditRecords((record) => record.deviceId === device!.id && record.action === 'key_release' && record.outcome === 'ok'),
    ).toHaveLength(2);
    expect(await auditRecords((record) => record.deviceId === device!.id && record.action === 'key_release_repeat')).toHaveLength(2);
    // The same id for another model is a client bug, refused.
    expect((await deviceCall(url(0), device!, 'POST', keyPath('det@9.9.9'), { requestId })).status).toBe(404);
  });

  it('one enrolment token with one use, raced on the three brokers, enrols one device', async () => {
    const token = await api().post('/v1/admin/enrolment-tokens', { labels: ['enrolled'], ttlSeconds: 600, maxUses: 1 });
    expect(token.status).toBe(201);
    const candidates = Array.from({ length: 15 }, (_, index) => newDevice(`enrol-race-${index}`));
    const answers = await Promise.all(
      candidates.map(async (device, index) => {
        const response = await fetch(`${url(index)}/v1/enrol`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token.body.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ deviceId: device.id, publicKeyPem: device.publicKeyPem }),
        });
        return { status: response.status, body: (await response.json()) as Record<string, any> };
      }),
    );
    expect(answers.filter((answer) => answer.status === 201)).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 401 && answer.body.error === 'token_used_up')).toHaveLength(14);
    const listed = (await api(2).get('/v1/admin/enrolment-tokens')).body.tokens.find((t: { id: string }) => t.id === token.body.id);
    expect(listed.uses).toBe(1);
    const devices = (await api(1).get('/v1/admin/devices')).body.devices.filter((d: { id: string }) => d.id.startsWith('enrol-race-'));
    expect(devices).toHaveLength(1);
  });

  it('serves Prometheus metrics to admins only: requests by route, releases and refusals by reason', async () => {
    expect((await fetch(`${url(0)}/metrics`)).status).toBe(401);
    const response = await fetch(`${url(0)}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/ovseal_broker_http_requests_total\{route="\/v1\/models\/:id\/key",method="POST",status="200"\} [1-9]/);
    expect(text).toMatch(/ovseal_broker_key_releases_total\{kind="counted"\} [1-9]/);
    expect(text).toMatch(/ovseal_broker_key_refusals_total\{reason="releases_exhausted"\} [1-9]/);
    expect(text).toMatch(/ovseal_broker_http_request_duration_seconds_bucket\{le="0.005",route="\/v1\/challenges",method="POST"\}/);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).not.toMatch(/race-\d|replay-0/); // no device ids in labels
  });

  it('PostgreSQL stopped mid-run: 503 with Retry-After from every broker, then normal service by itself, nothing lost', async () => {
    const devices = await registerDevices('outage', 3, ['outage']);
    const grant = await api().post('/v1/admin/grants', { label: 'outage', model: 'det', ttlSeconds: 3600, maxReleases: 100 });
    for (const [index, device] of devices.entries())
      expect((await deviceCall(url(index), device, 'POST', keyPath(MODEL), { requestId: randomUUID() })).status).toBe(200);
    const auditBefore = (await auditRecords(() => true)).length;
    // A proof made before the outage, sent during it.
    const pending = await signRequest(url(0), devices[0]!, 'POST', keyPath(MODEL), { requestId: randomUUID() });
    await pg.close();
    try {
      for (const index of [0, 1, 2]) {
        const refused = await fetch(`${url(index)}${keyPath(MODEL)}`, { method: 'POST', headers: pending.headers, body: pending.body });
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(((await refused.json()) as { error: string }).error).toBe('store_unavailable');
        const challenged = await challenge(url(index), devices[1]!.id);
        expect(challenged.status).toBe(503);
        expect((await api(index).get('/v1/admin/grants')).status).toBe(503);
        expect((await fetch(`${url(index)}/healthz`)).status).toBe(200); // the process is alive
      }
    } finally {
      await pg.start();
    }
    // Back by itself: the same proof was never used (its nonce never reached the store) and works now.
    await waitFor(
      'the brokers to reach PostgreSQL again',
      async () => (await fetch(`${url(1)}/v1/admin/grants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status === 200,
    );
    expect((await send(url(2), pending)).status).toBe(200);
    for (const [index, device] of devices.entries())
      expect((await deviceCall(url(index + 1), device, 'POST', keyPath(MODEL), { requestId: randomUUID() })).status).toBe(200);
    const stored = (await api(2).get('/v1/admin/grants')).body.grants.find((g: { id: string }) => g.id === grant.body.id);
    expect(stored.releases).toBe(3 + 1 + 3);
    const auditAfter = await auditRecords(() => true);
    expect(auditAfter.length).toBeGreaterThanOrEqual(auditBefore + 4);
    expect(
      auditAfter.filter((record) => record.grantId === grant.body.id && record.action === 'key_release' && record.outcome === 'ok'),
    ).toHaveLength(7);
    const metrics = await (await fetch(`${url(0)}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(metrics).toMatch(/ovseal_broker_store_errors_total\{kind="unavailable"\} [1-9]/);
    for (const broker of brokers) expect(broker.stderr()).not.toContain(pg.password);
  });
});
