import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWrapContext, open, seal } from '@ovseal/container';
import { FileRecipient, generateKey } from '@ovseal/key-file';
import { initDeviceKey, SoftwareEcdhIdentity, TpmEcdhIdentity, TpmRsaIdentity } from '@ovseal/key-tpm';
import { type SwtpmInstance } from '@ovseal/key-tpm/testing';
import { ocrModels } from '@ovseal/test-fixtures';
import { stanzaFromJson } from '@ovseal/broker-protocol';
import { challenge, deviceCall, keyPath, send, signRequest, type TestDevice } from './device.js';
import {
  admin,
  ADMIN_TOKEN,
  describeWithTpm,
  newSwtpm,
  sealDetector,
  spawnBroker,
  startKms,
  tempDir,
  type BrokerProcess,
} from './helpers.js';

describeWithTpm('key broker (real process, kms-local, swtpm devices)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let kms: Awaited<ReturnType<typeof startKms>>;
  let tpm: SwtpmInstance;
  let broker: BrokerProcess;
  let deviceA: TestDevice & { keyId: string; publicKeyPem: string };
  let deviceB: TestDevice & { keyId: string; publicKeyPem: string };
  let deviceC: TestDevice & { keyId: string; publicKeyPem: string };
  let detector: string;
  const api = admin(() => broker.url);
  const url = () => broker.url;
  const MODEL = 'ppocr-det@4.0.0';

  beforeAll(async () => {
    work = await tempDir('ovseal-broker-test-');
    kms = await startKms();
    tpm = await newSwtpm();
    const keyA = await initDeviceKey({ type: 'tpm-ecdh', keyDir: join(work.path, 'key-a'), tcti: tpm.tcti });
    const keyB = await initDeviceKey({ type: 'tpm-rsa', keyDir: join(work.path, 'key-b'), tcti: tpm.tcti });
    deviceA = {
      id: 'edge-a',
      identity: await TpmEcdhIdentity.open({ keyDir: keyA.keyDir! }, { tcti: tpm.tcti }),
      keyId: keyA.keyId,
      publicKeyPem: keyA.publicKeyPem,
    };
    deviceB = {
      id: 'edge-b',
      identity: await TpmRsaIdentity.open({ keyDir: keyB.keyDir! }, { tcti: tpm.tcti }),
      keyId: keyB.keyId,
      publicKeyPem: keyB.publicKeyPem,
    };
    const keyC = await initDeviceKey({ type: 'tpm-ecdh', keyDir: join(work.path, 'key-c'), tcti: tpm.tcti });
    deviceC = {
      id: 'edge-c',
      identity: await TpmEcdhIdentity.open({ keyDir: keyC.keyDir! }, { tcti: tpm.tcti }),
      keyId: keyC.keyId,
      publicKeyPem: keyC.publicKeyPem,
    };
    detector = await sealDetector(join(work.path, 'det-4.0.0.ovseal'), kms, { version: '4.0.0' });
    broker = await spawnBroker({ dataDir: join(work.path, 'broker'), kms });
  });

  afterAll(async () => {
    await broker?.close();
    await tpm?.close();
    await kms?.kms.close();
    await work?.remove();
  });

  it('answers /healthz and refuses admin calls without the token', async () => {
    expect((await fetch(`${url()}/healthz`)).status).toBe(200);
    const anonymous = await fetch(`${url()}/v1/admin/devices`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: string }).error).toBe('unauthenticated');
    expect((await admin(url, 'not-the-token-at-all').get('/v1/admin/grants')).status).toBe(401);
    expect((await api.get('/v1/admin/devices')).status).toBe(200);
  });

  it('registers a sealed model after unwrapping its key with KMS and verifying every tag', async () => {
    const registered = await api.post('/v1/admin/models', await readFile(detector));
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ id: MODEL, name: 'ppocr-det', version: '4.0.0', format: 'onnx' });
    expect(registered.body.recipients.map((r: { type: string }) => r.type)).toEqual(['aws-kms']);
    expect((await api.post('/v1/admin/models', await readFile(detector))).status).toBe(409);
  });

  it('refuses a tampered container, and one it holds no key for', async () => {
    const tampered = await readFile(detector);
    tampered[tampered.length - 1000]! ^= 0x01;
    const sealedAgain = await sealDetector(join(work.path, 'det-4.0.9.ovseal'), kms, { version: '4.0.9' });
    const copy = await readFile(sealedAgain);
    copy[copy.length - 1000]! ^= 0x01;
    const refused = await api.post('/v1/admin/models', copy);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/ERR_AUTHENTICATION_FAILED/);
    const foreign = join(work.path, 'foreign.ovseal');
    await seal({
      output: foreign,
      entries: [{ name: 'm.onnx', role: 'onnx', path: ocrModels.classifier }],
      metadata: { name: 'foreign', version: '1' },
      recipients: [new FileRecipient(generateKey())],
    });
    const noKey = await api.post('/v1/admin/models', await readFile(foreign));
    expect(noKey.status).toBe(422);
    expect(noKey.body.error).toBe('no_broker_key');
  });

  it('registers a header only, with the URL devices download from', async () => {
    const sealed = await readFile(await sealDetector(join(work.path, 'det-hosted.ovseal'), kms, { version: '4.0.0-hosted' }));
    const { payloadOffset } = await import('@ovseal/container').then((c) => c.inspect(sealed));
    const header = sealed.subarray(0, payloadOffset);
    expect((await api.post('/v1/admin/models', header)).status).toBe(400); // no ?url=
    const hosted = await api.post(`/v1/admin/models?url=${encodeURIComponent('https://models.example.com/det.ovseal')}`, header);
    expect(hosted.status).toBe(201);
    expect(hosted.body.storage).toEqual({ kind: 'url', url: 'https://models.example.com/det.ovseal' });
  });

  it('registers devices (ECDH and RSA TPM keys) and refuses a key that is not a device key', async () => {
    for (const device of [deviceA, deviceB]) {
      const created = await api.post('/v1/admin/devices', { id: device.id, publicKeyPem: device.publicKeyPem, labels: ['line-3'] });
      expect(created.status).toBe(201);
      expect(created.body.keyId).toBe(device.keyId);
    }
    expect((await api.post('/v1/admin/devices', { id: 'edge-x', publicKeyPem: '/etc/passwd' })).status).toBe(400);
    expect((await api.post('/v1/admin/devices', { id: 'edge-a', publicKeyPem: deviceA.publicKeyPem })).status).toBe(409);
  });

  it('releases the data key re-wrapped to the device TPM key only, and the device opens the container', async () => {
    const denied = await deviceCall(url(), deviceA, 'POST', keyPath(MODEL), {});
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('not_granted');
    const grant = await api.post('/v1/admin/grants', {
      label: 'line-3',
      model: 'ppocr-det',
      version: '4.0.0',
      ttlSeconds: 3600,
      maxReleases: 3,
    });
    expect(grant.status).toBe(201);

    const listed = await deviceCall(url(), deviceA, 'GET', '/v1/models');
    expect(listed.status).toBe(200);
    expect(listed.body.models.map((m: { id: string }) => m.id)).toEqual([MODEL]);

    const released = await deviceCall(url(), deviceA, 'POST', keyPath(MODEL), {});
    expect(released.status).toBe(200);
    expect(released.body.stanza.type).toBe('tpm-ecdh');
    expect(released.body.stanza.args[0]).toBe(deviceA.keyId);
    expect(released.body.releasesLeft).toBe(2);
    expect(JSON.stringify(released.body)).not.toMatch(/"dataKey"/);

    const stanza = stanzaFromJson(released.body.stanza);
    const deviceIdentity = {
      unwrap: (_: unknown, ctx: Parameters<TestDevice['identity']['unwrap']>[1]) => deviceA.identity.unwrap([stanza], ctx),
    };
    const opened = await open(detector, { identities: [deviceIdentity] });
    expect(Buffer.compare(Buffer.from(opened.get('ch_PP-OCRv4_det_infer.onnx')), await readFile(ocrModels.detector))).toBe(0);
    opened.dispose();

    // The stanza is useless to another device: device B's TPM key does not match it.
    await expect(
      deviceB.identity.unwrap(
        [stanza],
        createWrapContext({ containerId: Buffer.from(released.body.containerId, 'hex'), modelName: 'ppocr-det', modelVersion: '4.0.0' }),
      ),
    ).resolves.toBeNull();

    const rsa = await deviceCall(url(), deviceB, 'POST', keyPath(MODEL), {});
    expect(rsa.status).toBe(200);
    expect(rsa.body.stanza.type).toBe('tpm-rsa');
  });

  it("refuses a replayed request, a stale one, a tampered one, and another device's proof", async () => {
    const request = await signRequest(url(), deviceA, 'GET', '/v1/models');
    expect((await send(url(), request)).status).toBe(200);
    const replay = await send(url(), request);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe('replayed');

    const stale = await send(
      url(),
      await signRequest(url(), deviceA, 'GET', '/v1/models', undefined, { timestamp: Date.now() - 10 * 60_000 }),
    );
    expect(stale.body.error).toBe('stale_request');

    const original = await signRequest(url(), deviceA, 'POST', keyPath(MODEL), {});
    const otherPath = await send(url(), { ...original, path: keyPath('ppocr-det@4.0.0-hosted') });
    expect(otherPath.body.error).toBe('bad_proof');

    // Device B answers a challenge issued to device A: its TPM cannot unwrap it.
    await expect(signRequest(url(), deviceA, 'GET', '/v1/models', undefined, { signer: deviceB })).rejects.toThrow(/not for this key/);
    // An unknown id gets a challenge like any other (ids cannot be listed this way), which no key answers.
    const unknown = await challenge(url(), 'edge-nobody');
    expect(unknown.status).toBe(201);
    await expect(signRequest(url(), { ...deviceA, id: 'edge-nobody' }, 'GET', '/v1/models')).rejects.toThrow(/not for this key/);

    const audit = await api.get('/v1/admin/audit?limit=1000');
    expect(audit.body.records.some((r: { reason: string }) => r.reason === 'replayed')).toBe(true);
  });

  it('refuses an expired grant, a used-up grant, a revoked grant and a revoked device — each audited', async () => {
    expect((await api.post('/v1/admin/devices', { id: deviceC.id, publicKeyPem: deviceC.publicKeyPem })).status).toBe(201);
    const sealed = await sealDetector(join(work.path, 'det-5.ovseal'), kms, { version: '5.0.0' });
    expect((await api.post('/v1/admin/models', await readFile(sealed))).status).toBe(201);

    const expired = await api.post('/v1/admin/grants', {
      device: 'edge-c',
      model: 'ppocr-det',
      version: '5.0.0',
      notAfter: new Date(Date.now() - 1000).toISOString(),
      maxReleases: 10,
    });
    expect(expired.status).toBe(201);
    expect((await deviceCall(url(), deviceC, 'POST', keyPath('ppocr-det@5.0.0'), {})).body.error).toBe('grant_expired');

    const once = await api.post('/v1/admin/grants', {
      device: 'edge-c',
      model: 'ppocr-det',
      version: '5.0.0',
      ttlSeconds: 600,
      maxReleases: 1,
    });
    expect((await deviceCall(url(), deviceC, 'POST', keyPath('ppocr-det@5.0.0'), {})).status).toBe(200);
    const exhausted = await deviceCall(url(), deviceC, 'POST', keyPath('ppocr-det@5.0.0'), {});
    expect(exhausted.status).toBe(403);
    expect(exhausted.body.error).toBe('releases_exhausted');

    expect((await api.post(`/v1/admin/grants/${once.body.id}/revoke`)).status).toBe(200);
    expect((await api.post(`/v1/admin/grants/${expired.body.id}/revoke`)).status).toBe(200);
    expect((await deviceCall(url(), deviceC, 'POST', keyPath('ppocr-det@5.0.0'), {})).body.error).toBe('grant_revoked');

    expect((await api.post('/v1/admin/devices/edge-c/revoke', { reason: 'stolen' })).status).toBe(200);
    const revoked = await deviceCall(url(), deviceC, 'POST', keyPath('ppocr-det@5.0.0'), {});
    expect(revoked.status).toBe(403);
    expect(revoked.body.error).toBe('device_revoked');
    expect((await deviceCall(url(), deviceC, 'GET', '/v1/models')).body.error).toBe('device_revoked');

    const { body } = await api.get('/v1/admin/audit?device=edge-c&limit=1000');
    const reasons = body.records
      .filter((r: { action: string }) => r.action === 'key_release')
      .map((r: { outcome: string; reason: string | null }) => r.reason ?? r.outcome);
    expect(reasons).toEqual(['grant_expired', 'ok', 'releases_exhausted', 'grant_revoked', 'device_revoked']);
  });

  it('serves containers to granted devices through signed URLs, with ETag and Range', async () => {
    const { body } = await deviceCall(url(), deviceA, 'GET', '/v1/models');
    const entry = body.models.find((m: { id: string }) => m.id === MODEL);
    const bytes = await readFile(detector);
    const head = await fetch(entry.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(entry.etag);
    expect(Number(head.headers.get('content-length'))).toBe(bytes.length);
    const part = await fetch(entry.url, { headers: { range: 'bytes=100-199', 'if-range': entry.etag } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), bytes.subarray(100, 200))).toBe(0);
    expect((await fetch(entry.url, { headers: { range: 'bytes=100-199', 'if-range': '"other"' } })).status).toBe(200);
    expect((await fetch(entry.url, { headers: { 'if-none-match': entry.etag } })).status).toBe(304);
    expect((await fetch(entry.url, { headers: { range: `bytes=${bytes.length}-` } })).status).toBe(416);
    const forged = entry.url.replace(/sig=[^&]+/, 'sig=AAAA');
    expect((await fetch(forged)).status).toBe(401);
    expect((await fetch(entry.url.replace('device=edge-a', 'device=edge-b'))).status).toBe(401);
  });

  it('enrols a device with a token (labels from the token), once', async () => {
    const token = await api.post('/v1/admin/enrolment-tokens', { labels: ['line-9'], ttlSeconds: 600, maxUses: 1 });
    expect(token.status).toBe(201);
    // A key no device has yet (one key enrols one device).
    const enrolling = new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const enrol = (id: string) =>
      fetch(`${url()}/v1/enrol`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.body.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId: id, publicKeyPem: enrolling.publicKeyPem }),
      });
    const first = await enrol('edge-enrolled');
    expect(first.status).toBe(201);
    expect(((await first.json()) as { labels: string[] }).labels).toEqual(['line-9']);
    const second = await enrol('edge-enrolled-2');
    expect(second.status).toBe(401);
    expect(((await second.json()) as { error: string }).error).toBe('token_used_up');
  });

  it('limits request sizes', async () => {
    const big = await fetch(`${url()}/v1/challenges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'x'.repeat(10_000) }),
    });
    expect(big.status).toBe(413);
    const bigAdmin = await api.post('/v1/admin/devices', { id: 'edge-big', publicKeyPem: 'x'.repeat(100_000) });
    expect(bigAdmin.status).toBe(413);
  });

  it('keeps every grant, release count and audit record across a crash (SIGKILL) and restart', async () => {
    const before = {
      grants: (await api.get('/v1/admin/grants')).body.grants,
      audit: (await api.get('/v1/admin/audit?limit=1000')).body.records,
      devices: (await api.get('/v1/admin/devices')).body.devices,
    };
    const released = await deviceCall(url(), deviceA, 'POST', keyPath(MODEL), {});
    expect(released.status).toBe(200);
    const { port, dataDir } = broker;
    await broker.kill();
    broker = await spawnBroker({ dataDir, kms, port });
    const after = {
      grants: (await api.get('/v1/admin/grants')).body.grants,
      audit: (await api.get('/v1/admin/audit?limit=1000')).body.records,
      devices: (await api.get('/v1/admin/devices')).body.devices,
    };
    expect(after.devices).toEqual(before.devices);
    expect(after.audit.slice(0, before.audit.length)).toEqual(before.audit);
    expect(after.audit.at(-1)).toMatchObject({ action: 'key_release', outcome: 'ok', deviceId: 'edge-a', modelId: MODEL });
    const lineGrant = (grants: { subject: { value: string }; version: string | null; releases: number }[]) =>
      grants.find((g) => g.subject.value === 'line-3' && g.version === '4.0.0')!;
    expect(lineGrant(after.grants).releases).toBe(lineGrant(before.grants).releases + 1);
    // The restarted broker still verifies proofs (the challenge secret is in the store) and refuses replays.
    const request = await signRequest(url(), deviceA, 'GET', '/v1/models');
    expect((await send(url(), request)).status).toBe(200);
    expect((await send(url(), request)).body.error).toBe('replayed');
  });

  it('never writes the admin token, enrolment tokens, proofs or URL signatures to its log', async () => {
    const token = await api.post('/v1/admin/enrolment-tokens', { labels: [], ttlSeconds: 60 });
    const request = await signRequest(url(), deviceA, 'GET', '/v1/models');
    await send(url(), request);
    const { body } = await deviceCall(url(), deviceA, 'GET', '/v1/models');
    await fetch(body.models[0].url, { method: 'HEAD' });
    const log = broker.stderr();
    expect(log).toMatch(/"event":"request"/);
    const proof = /proof=([A-Za-z0-9_-]+)/.exec(request.headers.authorization!)![1]!;
    for (const secret of [ADMIN_TOKEN, token.body.token, proof, new URL(body.models[0].url).searchParams.get('sig')!])
      expect(log).not.toContain(secret);
  });

  it('rate-limits a client address', async () => {
    const limited = await spawnBroker({ dataDir: join(work.path, 'broker-limited'), kms, args: ['--rate-limit', '2'] });
    try {
      const statuses = await Promise.all(Array.from({ length: 20 }, () => fetch(`${limited.url}/healthz`).then((r) => r.status)));
      expect(statuses).toContain(200);
      expect(statuses).toContain(429);
    } finally {
      await limited.close();
    }
  });
});
