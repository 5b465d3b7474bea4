import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SwtpmInstance } from '@ovseal/key-tpm/testing';
import { drawTextImage, findTextBoxes } from '../src/index.js';
import {
  admin,
  describeWithTpm,
  edge,
  health,
  inferImage,
  newSwtpm,
  plainDetector,
  sealDetector,
  spawnBroker,
  spawnRunner,
  startKms,
  tempDir,
  waitFor,
  writeConfig,
  type BrokerProcess,
  type Spawned,
} from './helpers.js';

const image = drawTextImage(256, 96, [
  { text: 'OVSEAL', x: 12, y: 12 },
  { text: 'FLEET 7', x: 12, y: 56 },
]);

describeWithTpm('edge runner in a fleet (real processes: broker, runners; kms-local; swtpm)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let kms: Awaited<ReturnType<typeof startKms>>;
  let broker: BrokerProcess;
  let tpmA: SwtpmInstance;
  let tpmB: SwtpmInstance;
  let configA: string;
  let offlineConfigA: string;
  let runner: Spawned | undefined;
  let grantId: string;
  const api = admin(() => broker.url);
  let reference: Float32Array;

  /** A URL nothing listens on: the broker is "down" for this runner. */
  const deadBroker = 'http://127.0.0.1:9';

  beforeAll(async () => {
    work = await tempDir('ovseal-fleet-test-');
    kms = await startKms();
    broker = await spawnBroker({ dataDir: join(work.path, 'broker'), kms });
    const sealed = await sealDetector(join(work.path, 'det-4.0.0.ovseal'), kms, { version: '4.0.0' });
    expect((await api.post('/v1/admin/models', await readFile(sealed))).status).toBe(201);
    tpmA = await newSwtpm();
    const deviceA = {
      deviceId: 'edge-a',
      dataDir: 'edge-a',
      deviceKey: { kind: 'tpm', type: 'tpm-ecdh', keyDir: 'edge-a-key', tcti: tpmA.tcti },
    };
    configA = await writeConfig(work.path, 'edge-a', { ...deviceA, brokerUrl: broker.url });
    offlineConfigA = await writeConfig(work.path, 'edge-a-offline', { ...deviceA, brokerUrl: deadBroker });
    const init = await edge('init', '--config', configA);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('-----BEGIN PUBLIC KEY-----');
    const publicKey = JSON.parse((await edge('public-key', '--config', configA, '--json')).stdout) as { id: string; publicKeyPem: string };
    expect((await api.post('/v1/admin/devices', { ...publicKey, labels: ['site-berlin'] })).status).toBe(201);
    const grant = await api.post('/v1/admin/grants', { label: 'site-berlin', model: 'ppocr-det', ttlSeconds: 3600, maxReleases: 10 });
    grantId = grant.body.id;
    reference = await plainDetector(image);
  });

  afterAll(async () => {
    await runner?.close();
    await broker?.close();
    await tpmA?.close();
    await tpmB?.close();
    await kms?.kms.close();
    await work?.remove();
  });

  async function restartRunner(config: string): Promise<Spawned> {
    await runner?.close();
    runner = await spawnRunner(config);
    return runner;
  }

  const serving = (version: string) =>
    waitFor(`the runner to serve ${version}`, async () => {
      const state = await health(runner!);
      return state.models.find((m) => m.version === version) ? state : undefined;
    });
  const servingNothing = (why: string) =>
    waitFor(`the runner to stop serving (${why})`, async () => ((await health(runner!)).models.length === 0 ? true : undefined));

  it('happy path: fetches, unwraps in the TPM, decrypts in memory and infers like the plain model', async () => {
    await restartRunner(configA);
    const state = await serving('4.0.0');
    // The runner serves on OpenVINO wherever its runtime is installed (always in CI), else on ONNX Runtime.
    const runtime = process.env['OVSEAL_OPENVINO_LIB'] ? 'openvino' : 'onnxruntime';
    expect(state.models[0]).toMatchObject({ id: 'ppocr-det@4.0.0', source: 'broker', runtime });
    const result = await inferImage(runner!, image);
    expect(result.status).toBe(200);
    expect(result.body['model']).toBe('ppocr-det@4.0.0');
    expect(result.body['runtime']).toBe(runtime);
    const maxDiff = result.probabilities!.reduce((max, value, index) => Math.max(max, Math.abs(value - reference[index]!)), 0);
    expect(maxDiff).toBeLessThan(runtime === 'openvino' ? 1e-3 : 1e-4);
    // The plain model's boxes: the same corners, scores equal to float precision across runtimes.
    const [got, want] = [result.probabilities!, reference].map((map) => findTextBoxes(map, image.width, image.height));
    expect(got!.map(({ score: _, ...corners }) => corners)).toEqual(want!.map(({ score: _, ...corners }) => corners));
    got!.forEach((box, i) => expect(Math.abs(box.score - want![i]!.score)).toBeLessThan(1e-4));
    expect(got).toHaveLength(2);
    // A failed inference answers 422 without the runtime's internal text (issue 10 item 16).
    const wrong = await fetch(`${runner!.url}/v1/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: { x: { type: 'float32', dims: [1, 2], data: [1, 2] } } }),
    });
    expect(wrong.status).toBe(422);
    const refusal = (await wrong.json()) as { error: string; message: string };
    expect(refusal.error).toBe('inference_failed');
    expect(refusal.message).not.toMatch(/onnx|ort|dimension|rank|Got invalid|index/i);
    // At rest: the container (ciphertext) and the device-wrapped stanza; nothing decrypted.
    const files = await readdir(join(work.path, 'edge-a', 'models', 'ppocr-det@4.0.0'));
    expect(files.sort()).toEqual(['container.ovseal', 'key.json']);
    const cached = JSON.parse(await readFile(join(work.path, 'edge-a', 'models', 'ppocr-det@4.0.0', 'key.json'), 'utf8'));
    expect(cached.stanza.type).toBe('tpm-ecdh');
  });

  it('broker crash and restart mid-run: the runner keeps serving; no grant or audit record is lost', async () => {
    const before = {
      grants: (await api.get('/v1/admin/grants')).body['grants'],
      audit: (await api.get('/v1/admin/audit?limit=1000')).body['records'],
    };
    const { port, dataDir } = broker;
    await broker.kill();
    await waitFor('the runner to see the broker down', async () => (await health(runner!)).broker.state === 'unreachable');
    expect((await inferImage(runner!, image)).status).toBe(200);
    broker = await spawnBroker({ dataDir, kms, port });
    await waitFor('the runner to reach the broker again', async () => (await health(runner!)).broker.state === 'reachable');
    expect((await api.get('/v1/admin/grants')).body['grants']).toEqual(before.grants);
    expect((await api.get('/v1/admin/audit?limit=1000')).body['records']).toEqual(before.audit);
    expect((await health(runner!)).models[0]!.id).toBe('ppocr-det@4.0.0');
  });

  it('broker down: the runner restarts from its cache and keeps serving', async () => {
    await restartRunner(offlineConfigA);
    const state = await serving('4.0.0');
    expect(state.models[0]!.source).toBe('cache');
    await waitFor('the broker to be seen unreachable', async () => (await health(runner!)).broker.state === 'unreachable');
    expect((await inferImage(runner!, image)).status).toBe(200);
  });

  it("another device's stanza does not open the model on this device", async () => {
    tpmB = await newSwtpm();
    const configB = await writeConfig(work.path, 'edge-b', {
      deviceId: 'edge-b',
      dataDir: 'edge-b',
      brokerUrl: deadBroker,
      deviceKey: { kind: 'tpm', type: 'tpm-ecdh', keyDir: 'edge-b-key', tcti: tpmB.tcti },
    });
    expect((await edge('init', '--config', configB)).code).toBe(0);
    await cp(join(work.path, 'edge-a', 'models'), join(work.path, 'edge-b', 'models'), { recursive: true });
    const runnerB = await spawnRunner(configB);
    try {
      const state = await health(runnerB);
      expect(state.models).toEqual([]);
      expect(state.problems['ppocr-det@4.0.0']).toMatch(/ERR_NO_MATCHING_KEY/);
      expect((await inferImage(runnerB, image)).body['error']).toBe('no_model');
    } finally {
      await runnerB.close();
    }
  });

  it('tampered container: refused (no plaintext served), then downloaded again from the broker', async () => {
    await runner?.close();
    const path = join(work.path, 'edge-a', 'models', 'ppocr-det@4.0.0', 'container.ovseal');
    const bytes = await readFile(path);
    bytes[bytes.length - 5000]! ^= 0x40;
    await writeFile(path, bytes);
    await restartRunner(offlineConfigA);
    const state = await health(runner!);
    expect(state.models).toEqual([]);
    expect(state.problems['ppocr-det@4.0.0']).toMatch(/ERR_AUTHENTICATION_FAILED/);
    expect((await inferImage(runner!, image)).status).toBe(503);
    await restartRunner(configA);
    await serving('4.0.0');
    expect((await inferImage(runner!, image)).status).toBe(200);
  });

  it('picks up a newly granted model version', async () => {
    const sealed = await sealDetector(join(work.path, 'det-4.1.0.ovseal'), kms, { version: '4.1.0' });
    expect((await api.post('/v1/admin/models', await readFile(sealed))).status).toBe(201);
    const state = await serving('4.1.0');
    expect(state.models).toHaveLength(1);
    expect((await inferImage(runner!, image)).body['model']).toBe('ppocr-det@4.1.0');
    await waitFor(
      'the old version to be removed',
      async () => (await readdir(join(work.path, 'edge-a', 'models'))).join() === 'ppocr-det@4.1.0',
    );
  });

  it('stops serving when its grant is revoked', async () => {
    expect((await api.post(`/v1/admin/grants/${grantId}/revoke`)).status).toBe(200);
    await servingNothing('grant revoked');
    expect((await inferImage(runner!, image)).status).toBe(503);
  });

  it('stops serving when its grant expires', async () => {
    const short = await api.post('/v1/admin/grants', { device: 'edge-a', model: 'ppocr-det', ttlSeconds: 8, maxReleases: 5 });
    expect(short.status).toBe(201);
    await serving('4.1.0');
    await servingNothing('grant expired');
  });

  it('a revoked device stops serving, and its next key request is refused', async () => {
    expect((await api.post('/v1/admin/grants', { device: 'edge-a', model: 'ppocr-det', ttlSeconds: 3600, maxReleases: 5 })).status).toBe(
      201,
    );
    await serving('4.1.0');
    expect((await api.post('/v1/admin/devices/edge-a/revoke', { reason: 'test' })).status).toBe(200);
    await servingNothing('device revoked');
    expect((await health(runner!)).broker.lastError).toMatch(/device_revoked/);
    await runner!.close();
    const refused = await edge('fetch-key', '--config', configA, '--model', 'ppocr-det@4.1.0');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/device_revoked/);
    const { body } = await api.get('/v1/admin/audit?device=edge-a&limit=1000');
    expect(body.records.at(-1)).toMatchObject({ action: 'key_release', outcome: 'refused', reason: 'device_revoked' });
  });

  it('enrols a device with a token (file device key: no TPM needed for that)', async () => {
    const token = await api.post('/v1/admin/enrolment-tokens', { labels: ['site-paris'], ttlSeconds: 600 });
    const config = await writeConfig(work.path, 'edge-f', {
      deviceId: 'edge-f',
      dataDir: 'edge-f',
      brokerUrl: broker.url,
      deviceKey: { kind: 'file', path: 'edge-f.pem' },
    });
    const init = await edge('init', '--config', config);
    expect(init.stderr).toMatch(/FILE/);
    const tokenFile = join(work.path, 'edge-f.token');
    await writeFile(tokenFile, token.body.token, { mode: 0o600 });
    const enrolled = await edge('enrol', '--config', config, '--token-file', tokenFile);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect((await api.get('/v1/admin/devices/edge-f')).body.labels).toEqual(['site-paris']);
  });
});
