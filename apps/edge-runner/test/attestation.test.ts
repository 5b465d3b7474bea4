// The runner attests (real processes: broker and runner binaries, kms-local, a swtpm manufactured
// with EK certificates): `init` makes the attestation key, `enrol` answers the credential challenge,
// every key request carries a quote; after a PCR 7 extend the broker refuses, after an admin accepts
// the new value it releases again.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSwtpm, type SwtpmInstance } from '@ovseal/key-tpm/testing';
import {
  admin,
  assertTpm,
  describeWithTpm,
  edge,
  health,
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

const run = promisify(execFile);

describeWithTpm('edge runner with TPM attestation (broker and runner processes, swtpm with an EK certificate)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let kms: Awaited<ReturnType<typeof startKms>>;
  let broker: BrokerProcess;
  let tpm: SwtpmInstance;
  let config: string;
  let runner: Spawned | undefined;
  const api = admin(() => broker.url);

  beforeAll(async () => {
    assertTpm();
    work = await tempDir('ovseal-edge-attest-');
    kms = await startKms();
    tpm = await startSwtpm({ endorsement: { caDir: join(work.path, 'tpm-ca') } });
    await writeFile(join(work.path, 'ek-ca.pem'), tpm.endorsementCaPem!);
    broker = await spawnBroker({
      dataDir: join(work.path, 'broker'),
      kms,
      args: ['--ek-ca', join(work.path, 'ek-ca.pem'), '--attest-pcrs', 'sha256:0,7'],
    });
    const sealed = await sealDetector(join(work.path, 'det.ovseal'), kms, { version: '2.0.0' });
    expect((await api.post('/v1/admin/models', await readFile(sealed))).status).toBe(201);
    expect((await api.post('/v1/admin/pcr-policies', { label: 'site-attested', pcrs: 'sha256:0,7', tofu: 'each-device' })).status).toBe(
      201,
    );
    expect(
      (await api.post('/v1/admin/grants', { label: 'site-attested', model: 'ppocr-det', ttlSeconds: 3600, maxReleases: 10 })).status,
    ).toBe(201);
    const deviceKey = { kind: 'tpm', type: 'tpm-ecdh', keyDir: 'edge-key', tcti: tpm.tcti, attestation: true };
    config = await writeConfig(work.path, 'edge', { deviceId: 'edge-att', dataDir: 'edge-data', deviceKey, brokerUrl: broker.url });
  });

  afterAll(async () => {
    await runner?.close();
    await broker?.close();
    await tpm?.close();
    await kms?.kms.close();
    await work?.remove();
  });

  it('init makes the attestation key; enrol answers the credential challenge with the TPM', async () => {
    const init = await edge('init', '--config', config);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/attestation key 000b[0-9a-f]{64}/);
    const token = await api.post('/v1/admin/enrolment-tokens', { labels: ['site-attested'], ttlSeconds: 600, requireAttestation: true });
    await writeFile(join(work.path, 'token'), token.body.token);
    const enrolled = await edge('enrol', '--config', config, '--token-file', join(work.path, 'token'));
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(enrolled.stdout).toContain('attested');
    const view = (await api.get('/v1/admin/devices/edge-att/attestation')).body;
    expect(view.ek).toMatchObject({ verification: 'certificate' });
    expect(view.policies[0].values[0]).toMatchObject({ source: 'tofu', deviceId: 'edge-att' });
  });

  it('the runner attests its key request and serves the model', async () => {
    runner = await spawnRunner(config);
    await waitFor('the runner to serve the model', async () => ((await health(runner!)).models.length > 0 ? true : undefined));
    const records = (await api.get('/v1/admin/audit?limit=1000&device=edge-att')).body.records as Record<string, any>[];
    expect(records.find((record) => record.action === 'key_release')).toMatchObject({ outcome: 'ok', reason: 'attested' });
    await runner.close();
    runner = undefined;
  });

  it('after a PCR 7 extend the next key request is refused (pcr_mismatch on PCR 7); after an admin accepts, released', async () => {
    await run('tpm2_pcrextend', [`7:sha256=${randomBytes(32).toString('hex')}`], { env: { ...process.env, TPM2TOOLS_TCTI: tpm.tcti } });
    const refused = await edge('fetch-key', '--config', config, '--model', 'ppocr-det@2.0.0');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('pcr_mismatch');
    expect(refused.stderr).toContain('sha256:7');
    expect((await api.post('/v1/admin/devices/edge-att/accept-pcrs', { scope: 'device' })).status).toBe(200);
    const released = await edge('fetch-key', '--config', config, '--model', 'ppocr-det@2.0.0');
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain('key for ppocr-det@2.0.0 released');
  });
});
