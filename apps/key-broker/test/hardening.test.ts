// Findings of the adversarial review (issue 10 items 1, 2, 9, 15) and the broker's checked unlock
// path (issue 15). The broker runs in this process with a key-file identity, and devices are
// software tpm-ecdh keys: the same protocol as a TPM device key, so none of this needs swtpm.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWrapContext, open, sealToBuffer } from '@ovseal/container';
import { FileIdentity, FileRecipient, generateKey, writeKeyFile } from '@ovseal/key-file';
import { SoftwareEcdhIdentity } from '@ovseal/key-tpm';
import { startKeyBroker, type KeyBroker } from '../src/index.js';
import { stanzaFromJson, stanzaToJson } from '@ovseal/broker-protocol';
import { challenge, deviceCall, keyPath, send, type TestDevice } from './device.js';
import { admin, ADMIN_TOKEN, BROKER_BIN, spawnReady, tempDir, waitFor } from './helpers.js';

type Device = TestDevice & { publicKeyPem: string; keyId: string };

function newDevice(id: string): Device {
  const identity = new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  return { id, identity, publicKeyPem: identity.publicKeyPem, keyId: identity.keyId };
}

const MODEL_BYTES = randomBytes(50_000);

describe('key broker hardening (in process, software device keys)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let broker: KeyBroker;
  const brokerKek = generateKey();
  const api = admin(() => broker.url);
  const url = () => broker.url;

  async function sealModel(name: string, version: string): Promise<Buffer> {
    return Buffer.from(
      await sealToBuffer({
        entries: [{ name: 'm.onnx', role: 'onnx', data: MODEL_BYTES }],
        metadata: { name, version },
        recipients: [new FileRecipient(brokerKek)],
      }),
    );
  }

  async function enrol(token: string, device: Device, remote?: string) {
    const response = await fetch(`${url()}/v1/enrol`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(remote ? { 'x-forwarded-for': remote } : {}) },
      body: JSON.stringify({ deviceId: device.id, publicKeyPem: device.publicKeyPem }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  async function audit(): Promise<Record<string, any>[]> {
    return (await api.get('/v1/admin/audit?limit=1000')).body.records;
  }

  beforeAll(async () => {
    work = await tempDir('ovseal-broker-hardening-');
    broker = await startKeyBroker({
      dataDir: join(work.path, 'broker'),
      adminToken: ADMIN_TOKEN,
      identities: [new FileIdentity(brokerKek)],
      logger: false,
      trustProxy: 1,
      authFailureLimit: { perSecond: 0.001, burst: 5 },
    });
    expect((await api.post('/v1/admin/models', await sealModel('det', '1.0.0'))).status).toBe(201);
  });

  afterAll(async () => {
    await broker?.close();
    await work?.remove();
  });

  describe('item 1: no device-id takeover through enrolment', () => {
    it('a grant may not name a device that is not registered', async () => {
      const refused = await api.post('/v1/admin/grants', { device: 'not-yet-here', model: 'det', ttlSeconds: 600, maxReleases: 5 });
      expect(refused.status).toBe(404);
      expect(refused.body.error).toBe('unknown_device');
    });

    it('a device grant is bound to the key the device had: a new key under the same id gets nothing', async () => {
      const original = newDevice('bound-1');
      expect((await api.post('/v1/admin/devices', { id: original.id, publicKeyPem: original.publicKeyPem })).status).toBe(201);
      const grant = await api.post('/v1/admin/grants', { device: original.id, model: 'det', ttlSeconds: 600, maxReleases: 5 });
      expect(grant.status).toBe(201);
      expect(grant.body.subject).toMatchObject({ kind: 'device', value: original.id, keyId: original.keyId });
      expect((await deviceCall(url(), original, 'POST', keyPath('det@1.0.0'), {})).status).toBe(200);
    });

    it('an enrolment token can fix the device id, or a pattern of ids, it enrols', async () => {
      const fixed = await api.post('/v1/admin/enrolment-tokens', { labels: [], ttlSeconds: 600, maxUses: 5, deviceId: 'line3-01' });
      expect(fixed.status).toBe(201);
      expect((await enrol(fixed.body.token, newDevice('line3-99'))).body.error).toBe('device_id_not_allowed');
      expect((await enrol(fixed.body.token, newDevice('line3-01'))).status).toBe(201);
      const pattern = await api.post('/v1/admin/enrolment-tokens', { labels: [], ttlSeconds: 600, maxUses: 5, deviceIdPattern: 'line4-*' });
      expect(pattern.status).toBe(201);
      expect((await enrol(pattern.body.token, newDevice('line4-17'))).status).toBe(201);
      const outside = await enrol(pattern.body.token, newDevice('victim'));
      expect(outside.status).toBe(403);
      expect(outside.body.error).toBe('device_id_not_allowed');
      expect((await api.post('/v1/admin/enrolment-tokens', { labels: [], ttlSeconds: 600, deviceIdPattern: '*/../x' })).status).toBe(400);
    });
  });

  describe('item 2: a revoked device does not come back under a new id', () => {
    it('revoking a device revokes its key: the same key cannot enrol again, under any id', async () => {
      const token = await api.post('/v1/admin/enrolment-tokens', { labels: ['fleet-a'], ttlSeconds: 600, maxUses: 10 });
      const stolen = newDevice('thief-1');
      expect((await enrol(token.body.token, stolen)).status).toBe(201);
      expect((await api.post(`/v1/admin/devices/${stolen.id}/revoke`, { reason: 'stolen' })).status).toBe(200);
      const again = await enrol(token.body.token, { ...stolen, id: 'thief-2' });
      expect(again.status).toBe(403);
      expect(again.body.error).toBe('key_revoked');
      const byAdmin = await api.post('/v1/admin/devices', { id: 'thief-3', publicKeyPem: stolen.publicKeyPem });
      expect(byAdmin.status).toBe(403);
      expect(byAdmin.body.error).toBe('key_revoked');
      const records = await audit();
      expect(records.some((r) => r.action === 'revoke_device' && r.deviceId === 'thief-1' && String(r.reason).includes(stolen.keyId))).toBe(
        true,
      );
      expect(records.some((r) => r.action === 'enrol' && r.outcome === 'refused' && r.reason === 'key_revoked')).toBe(true);
    });

    it('one key enrols one device: a multi-use token cannot multiply a TPM into several ids', async () => {
      const token = await api.post('/v1/admin/enrolment-tokens', { labels: ['fleet-b'], ttlSeconds: 600, maxUses: 10 });
      const device = newDevice('twin-1');
      expect((await enrol(token.body.token, device)).status).toBe(201);
      const twin = await enrol(token.body.token, { ...device, id: 'twin-2' });
      expect(twin.status).toBe(409);
      expect(twin.body.error).toBe('key_registered');
    });

    it('admins list enrolment tokens (never the token) and revoke them; both audited', async () => {
      const created = await api.post('/v1/admin/enrolment-tokens', { labels: ['fleet-c'], ttlSeconds: 600, maxUses: 3 });
      const listed = await api.get('/v1/admin/enrolment-tokens');
      expect(listed.status).toBe(200);
      const entry = listed.body.tokens.find((t: { id: string }) => t.id === created.body.id);
      expect(entry).toMatchObject({ id: created.body.id, labels: ['fleet-c'], maxUses: 3, uses: 0, revokedAt: null });
      expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
      expect(JSON.stringify(listed.body)).not.toMatch(/hash/i);
      expect((await api.post(`/v1/admin/enrolment-tokens/${created.body.id}/revoke`)).status).toBe(200);
      expect((await api.post('/v1/admin/enrolment-tokens/e-nope/revoke')).status).toBe(404);
      const refused = await enrol(created.body.token, newDevice('late-1'));
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('token_revoked');
      expect((await audit()).some((r) => r.action === 'revoke_enrolment_token' && r.reason === created.body.id)).toBe(true);
    });
  });

  describe('item 9: the client address behind a trusted proxy', () => {
    it('takes the right-most X-Forwarded-For hop (the one the proxy appended), not the client-controlled left-most', async () => {
      await fetch(`${url()}/v1/admin/devices`, { headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' } });
      const refusal = (await audit()).filter((r) => r.action === 'admin_auth').at(-1)!;
      expect(refusal.remote).toBe('198.51.100.7');
    });
  });

  describe('item 15: lockouts, challenges, release caps', () => {
    it('failed proofs lock out the device they name, not every device behind the same address', async () => {
      const victim = newDevice('lock-victim');
      const neighbour = newDevice('lock-neighbour');
      for (const device of [victim, neighbour])
        expect((await api.post('/v1/admin/devices', { id: device.id, publicKeyPem: device.publicKeyPem })).status).toBe(201);
      // Someone without the victim's key sends requests in its name: random proofs.
      for (let i = 0; i < 8; i++) {
        const issued = (await challenge(url(), victim.id)).body;
        const authorization = `Ovseal-Device device=${victim.id}, nonce=${issued.nonce}, ts=${Date.now()}, proof=${randomBytes(32).toString('base64url')}`;
        const forged = await send(url(), { method: 'GET', path: '/v1/models', body: Buffer.alloc(0), headers: { authorization } });
        expect([401, 429]).toContain(forged.status);
      }
      expect((await deviceCall(url(), victim, 'GET', '/v1/models')).status).toBe(429);
      expect((await deviceCall(url(), neighbour, 'GET', '/v1/models')).status).toBe(200);
    });

    it('/v1/challenges answers alike for unknown device ids (no enumeration)', async () => {
      const known = newDevice('known-1');
      expect((await api.post('/v1/admin/devices', { id: known.id, publicKeyPem: known.publicKeyPem })).status).toBe(201);
      const real = await challenge(url(), known.id);
      const unknown = await challenge(url(), 'nobody-here');
      const again = await challenge(url(), 'nobody-here');
      expect(unknown.status).toBe(real.status);
      expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(real.body).sort());
      expect(unknown.body.stanza.type).toBe(real.body.stanza.type);
      expect(unknown.body.stanza.args[0]).toMatch(/^[0-9a-f]{64}$/);
      expect(again.body.stanza.args[0]).toBe(unknown.body.stanza.args[0]);
      expect(unknown.body.stanza.body.length).toBe(real.body.stanza.body.length);
    });

    it('a label grant can cap the releases of each device, so one device cannot use up the shared count', async () => {
      const [a, b] = [newDevice('cap-a'), newDevice('cap-b')];
      for (const device of [a, b])
        expect((await api.post('/v1/admin/devices', { id: device.id, publicKeyPem: device.publicKeyPem, labels: ['capped'] })).status).toBe(
          201,
        );
      const grant = await api.post('/v1/admin/grants', {
        label: 'capped',
        model: 'det',
        ttlSeconds: 600,
        maxReleases: 10,
        maxReleasesPerDevice: 1,
      });
      expect(grant.status).toBe(201);
      expect(grant.body.maxReleasesPerDevice).toBe(1);
      expect((await deviceCall(url(), a, 'POST', keyPath('det@1.0.0'), {})).status).toBe(200);
      const second = await deviceCall(url(), a, 'POST', keyPath('det@1.0.0'), {});
      expect(second.status).toBe(403);
      expect(second.body.error).toBe('device_releases_exhausted');
      expect((await deviceCall(url(), b, 'POST', keyPath('det@1.0.0'), {})).status).toBe(200);
    });
  });

  describe("issue 15: the broker unlocks through the container's checked path", () => {
    let device: Device;
    beforeAll(async () => {
      device = newDevice('checked-1');
      expect((await api.post('/v1/admin/devices', { id: device.id, publicKeyPem: device.publicKeyPem })).status).toBe(201);
      expect((await api.post('/v1/admin/grants', { device: device.id, model: 'det', ttlSeconds: 600, maxReleases: 20 })).status).toBe(201);
    });

    function database() {
      return new Database(join(work.path, 'broker', 'broker.db'));
    }

    async function releasedKeyOpens(): Promise<boolean> {
      const released = await deviceCall(url(), device, 'POST', keyPath('det@1.0.0'), {});
      expect(released.status).toBe(200);
      const stanza = stanzaFromJson(released.body.stanza);
      const bridge = {
        unwrap: (_: unknown, context: Parameters<Device['identity']['unwrap']>[1]) => device.identity.unwrap([stanza], context),
      };
      const [file] = (await readdir(join(work.path, 'broker', 'containers'))).filter((name) => name.endsWith('.ovseal'));
      return open(join(work.path, 'broker', 'containers', file!), { identities: [bridge] }).then(
        (model) => (model.dispose(), true),
        () => false,
      );
    }

    it('a stanza swapped in the store does not change the key released: it comes from the MACed header', async () => {
      expect(await releasedKeyOpens()).toBe(true);
      const row = database().prepare("SELECT stanzas, container_id FROM models WHERE id = 'det@1.0.0'").get() as {
        stanzas: string;
        container_id: string;
      };
      const [stored] = JSON.parse(row.stanzas) as { type: string; args: string[]; body: string }[];
      // Someone with write access to the store and the broker key wraps another data key under the model's context.
      const context = createWrapContext({ containerId: Buffer.from(row.container_id, 'hex'), modelName: 'det', modelVersion: '1.0.0' });
      const [swapped] = await new FileRecipient(brokerKek).wrap(randomBytes(32), context);
      expect(stored!.type).toBe('file');
      const db = database();
      db.prepare("UPDATE models SET stanzas = ? WHERE id = 'det@1.0.0'").run(JSON.stringify([stanzaToJson(swapped!)]));
      db.close();
      expect(await releasedKeyOpens()).toBe(true);
    });

    it('a tampered stored header is refused (MAC), and nothing is released', async () => {
      const db = database();
      const { header } = db.prepare("SELECT header FROM models WHERE id = 'det@1.0.0'").get() as { header: Buffer };
      const tampered = Buffer.from(header);
      tampered[150]! ^= 0x01;
      db.prepare("UPDATE models SET header = ? WHERE id = 'det@1.0.0'").run(tampered);
      db.close();
      const refused = await deviceCall(url(), device, 'POST', keyPath('det@1.0.0'), {});
      expect(refused.status).toBe(503);
      expect(refused.body.stanza).toBeUndefined();
    });
  });
});

describe('item 15: the admin token leaves the environment once hashed', () => {
  it('a diagnostic report of the running broker holds no OVSEAL_BROKER_ADMIN_TOKEN', async () => {
    const work = await tempDir('ovseal-broker-env-');
    try {
      await writeKeyFile(join(work.path, 'broker.key'), generateKey());
      const broker = await spawnReady(
        [
          '--report-on-signal',
          '--report-signal=SIGUSR2',
          `--report-directory=${work.path}`,
          BROKER_BIN,
          '--data-dir',
          join(work.path, 'data'),
          '--identity',
          `file:${join(work.path, 'broker.key')}`,
          '--port',
          '0',
          '--quiet',
        ],
        { OVSEAL_BROKER_ADMIN_TOKEN: ADMIN_TOKEN },
      );
      try {
        expect((await fetch(`${broker.url}/v1/admin/devices`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
        broker.child.kill('SIGUSR2');
        const report = await waitFor('the diagnostic report', async () => {
          const file = (await readdir(work.path)).find((name) => name.startsWith('report.') && name.endsWith('.json'));
          // Written while we look: wait until it parses whole.
          return file === undefined
            ? undefined
            : (JSON.parse(await readFile(join(work.path, file), 'utf8')) as { environmentVariables: Record<string, string> });
        });
        expect(report.environmentVariables['PATH']).toBeDefined();
        expect(report.environmentVariables).not.toHaveProperty('OVSEAL_BROKER_ADMIN_TOKEN');
        expect(JSON.stringify(report)).not.toContain(ADMIN_TOKEN);
      } finally {
        await broker.close();
      }
    } finally {
      await work.remove();
    }
  });
});

describe('schema migration from version 1', () => {
  it("keeps models, devices and grants; a device grant keeps its device's key; a grant to a missing device matches nothing", async () => {
    const work = await tempDir('ovseal-broker-migrate-');
    try {
      const path = join(work.path, 'broker.db');
      const old = new Database(path);
      old.exec(await readFile(new URL('./fixtures/schema-v1.sql', import.meta.url), 'utf8'));
      old.exec('CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);');
      const device = newDevice('old-device');
      old
        .prepare("INSERT INTO devices VALUES ('old-device', 'tpm-ecdh', ?, ?, '[]', 1, NULL, NULL)")
        .run(device.publicKeyPem, device.keyId);
      old.prepare("INSERT INTO grants VALUES ('g-1', 'device', 'old-device', 'det', NULL, 9e15, 5, 0, 1, NULL)").run();
      old.prepare("INSERT INTO grants VALUES ('g-2', 'device', 'never-registered', 'det', NULL, 9e15, 5, 0, 1, NULL)").run();
      old.close();
      const { SqliteBrokerStore } = await import('../src/index.js');
      const store = SqliteBrokerStore.open(path, { checkpointIntervalMs: 0 });
      try {
        const [grant] = await store.grantsForDevice((await store.getDevice('old-device'))!);
        expect(grant).toMatchObject({
          id: 'g-1',
          subject: { kind: 'device', value: 'old-device', keyId: device.keyId },
          maxReleasesPerDevice: null,
        });
        expect((await store.getGrant('g-2'))!.subject).toEqual({ kind: 'device', value: 'never-registered', keyId: '' });
        expect(await store.listEnrolmentTokens()).toEqual([]);
      } finally {
        await store.close();
      }
    } finally {
      await work.remove();
    }
  });
});
