// TPM remote attestation end to end: the broker binary (a real process) with kms-local, devices on
// swtpm manufactured with EK certificates by swtpm_setup + swtpm_localca, every TPM operation through
// tpm2-tools (@ovseal/key-tpm). Enrolment, key releases with quotes, and every refusal the issue lists.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { open, type Stanza, type WrapContext } from '@ovseal/container';
import { ocrModels } from '@ovseal/test-fixtures';
import {
  AttestationKey,
  initAttestationKey,
  initDeviceKey,
  readEndorsementKey,
  TpmEcdhIdentity,
  type EndorsementKeyInfo,
  type TpmQuote,
} from '@ovseal/key-tpm';
import { startSwtpm, type SwtpmInstance } from '@ovseal/key-tpm/testing';
import {
  quoteQualifyingData,
  quoteToJson,
  stanzaFromJson,
  type ActivationChallenge,
  type ChallengeResponse,
  type EnrolAttestation,
  type WireQuote,
} from '@ovseal/broker-protocol';
import { keyPath, send, signRequestWith, type TestDevice } from './device.js';
import { admin, assertTpm, describeWithTpm, sealDetector, spawnBroker, startKms, tempDir, type BrokerProcess } from './helpers.js';

interface TpmDevice extends TestDevice {
  tpm: SwtpmInstance;
  ak: AttestationKey;
  ek: EndorsementKeyInfo;
  publicKeyPem: string;
}

const run = promisify(execFile);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const MODEL = 'ppocr-det@1.0.0';

describeWithTpm('TPM attestation (broker process, swtpm devices with EK certificates)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let kms: Awaited<ReturnType<typeof startKms>>;
  let broker: BrokerProcess;
  const tpms: SwtpmInstance[] = [];
  const api = admin(() => broker.url);
  const url = () => broker.url;
  let policyId: string;
  let sealedPath: string;

  async function manufacture(caDir: string | null, stateDir?: string): Promise<SwtpmInstance> {
    const tpm = await startSwtpm({ ...(caDir ? { endorsement: { caDir } } : {}), ...(stateDir ? { stateDir } : {}) });
    tpms.push(tpm);
    return tpm;
  }

  /** A device on `tpm`: its ECDH device key in a key directory, the attestation key, the EK. */
  async function device(tpm: SwtpmInstance, id: string, options: { newAk?: boolean } = { newAk: true }): Promise<TpmDevice> {
    const tcti = tpm.tcti;
    const keyDir = join(work.path, 'keys', id);
    const info = await initDeviceKey({ tcti, keyDir });
    const ak = options.newAk === false ? await AttestationKey.open(undefined, { tcti }) : await initAttestationKey({ tcti });
    return {
      id,
      tpm,
      identity: await TpmEcdhIdentity.open({ keyDir }, { tcti }),
      ak,
      ek: await readEndorsementKey({ tcti }),
      publicKeyPem: info.publicKeyPem,
    };
  }

  function claimsOf(dev: TpmDevice, overrides: Partial<EnrolAttestation> = {}): EnrolAttestation {
    return {
      ekPublic: b64(dev.ek.publicArea),
      ...(dev.ek.certificate ? { ekCertificate: b64(dev.ek.certificate) } : {}),
      akPublic: b64(dev.ak.publicArea),
      ...overrides,
    };
  }

  async function enrolRequest(token: string, dev: TpmDevice, attestation: EnrolAttestation | undefined) {
    const response = await fetch(`${url()}/v1/enrol`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: dev.id, publicKeyPem: dev.publicKeyPem, ...(attestation ? { attestation } : {}) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  /** Both requests of an attested enrolment; `secret` replaces what the TPM activated (an unproven AK). */
  async function enrol(token: string, dev: TpmDevice, options: { claims?: Partial<EnrolAttestation>; secret?: Buffer } = {}) {
    const claims = claimsOf(dev, options.claims);
    const first = await enrolRequest(token, dev, claims);
    if (first.status !== 202) return first;
    const challenge = first.body as ActivationChallenge;
    const secret =
      options.secret ??
      (await dev.ak.activateCredential({
        idObject: Buffer.from(challenge.idObject, 'base64'),
        encryptedSecret: Buffer.from(challenge.encryptedSecret, 'base64'),
      }));
    const quote = await dev.ak.quote(challenge.pcrs, quoteQualifyingData('enrol', challenge.nonce, dev.id));
    return enrolRequest(token, dev, { ...claims, activation: { nonce: challenge.nonce, secret: b64(secret) }, quote: quoteToJson(quote) });
  }

  async function token(body: Record<string, unknown> = {}): Promise<string> {
    const created = await api.post('/v1/admin/enrolment-tokens', { labels: ['line-1'], ttlSeconds: 600, maxUses: 5, ...body });
    expect(created.status).toBe(201);
    return created.body.token as string;
  }

  /** A key request whose quote is made by `quoteFor` from the challenge (default: the device's AK, honestly). */
  async function requestKey(dev: TpmDevice, quoteFor?: (challenge: ChallengeResponse) => Promise<WireQuote | undefined>) {
    const make =
      quoteFor ??
      (async (challenge) =>
        quoteToJson(await dev.ak.quote(challenge.attest!.pcrs, quoteQualifyingData('release', challenge.nonce, dev.id))));
    const signed = await signRequestWith(url(), dev, 'POST', keyPath(MODEL), async (challenge) => {
      const quote = await make(challenge);
      return quote ? { quote } : {};
    });
    return send(url(), signed);
  }

  async function audit(deviceId: string): Promise<Record<string, any>[]> {
    return (await api.get(`/v1/admin/audit?limit=1000&device=${deviceId}`)).body.records;
  }

  beforeAll(async () => {
    assertTpm();
    work = await tempDir('ovseal-broker-attest-');
    kms = await startKms();
    const trusted = await manufacture(join(work.path, 'ca-trusted'));
    await writeFile(join(work.path, 'ek-ca.pem'), trusted.endorsementCaPem!);
    broker = await spawnBroker({ dataDir: join(work.path, 'broker'), kms, args: ['--ek-ca', join(work.path, 'ek-ca.pem'), '--quiet'] });
    sealedPath = await sealDetector(join(work.path, 'det.ovseal'), kms, { version: '1.0.0' });
    expect((await api.post('/v1/admin/models', new Uint8Array(await readFile(sealedPath)))).status).toBe(201);
    const policy = await api.post('/v1/admin/pcr-policies', {
      label: 'line-1',
      pcrs: 'sha256:0,7',
      tofu: 'each-device',
      note: 'boot chain',
    });
    expect(policy.status).toBe(201);
    policyId = policy.body.id;
    expect((await api.post('/v1/admin/grants', { label: 'line-1', model: 'ppocr-det', ttlSeconds: 3600, maxReleases: 100 })).status).toBe(
      201,
    );
  });

  afterAll(async () => {
    await broker?.close();
    await Promise.all(tpms.map((tpm) => tpm.close().catch(() => undefined)));
    await kms?.kms.close();
    await work?.remove();
  });

  let trustedCa: string;
  let deviceA: TpmDevice;

  it('the full enrolment: EK certificate, credential challenge activated by the TPM, quote; values captured on first use; audited', async () => {
    trustedCa = join(work.path, 'ca-trusted');
    deviceA = await device(tpms[0]!, 'edge-a');
    const enrolToken = await token();
    const first = await enrolRequest(enrolToken, deviceA, claimsOf(deviceA));
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ deviceId: 'edge-a', pcrs: 'sha256:0,1,2,3,4,5,6,7' });
    expect((await api.get('/v1/admin/devices/edge-a')).status).toBe(404); // nothing enrolled yet, the token not used
    const done = await enrol(enrolToken, deviceA);
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({ id: 'edge-a', labels: ['line-1'] });

    const view = (await api.get('/v1/admin/devices/edge-a/attestation')).body;
    expect(view.ek).toMatchObject({ verification: 'certificate', issuer: 'CN=swtpm-localca', name: deviceA.ek.name.toString('hex') });
    expect(view.ak.name).toBe(deviceA.ak.name.toString('hex'));
    expect(view.lastQuote.pcrs).toBe('sha256:0,1,2,3,4,5,6,7');
    const captured = view.policies.find((policy: any) => policy.id === policyId).values;
    expect(captured).toHaveLength(1);
    expect(captured[0]).toMatchObject({
      deviceId: 'edge-a',
      source: 'tofu',
      values: { 0: view.lastQuote.values['0'], 7: view.lastQuote.values['7'] },
    });

    const actions = (await audit('edge-a')).map((record) => `${record.action}:${record.outcome}`);
    expect(actions).toEqual(['enrol_challenge:ok', 'enrol_challenge:ok', 'enrol:ok', 'capture_pcr_values:ok']);
    expect((await audit('edge-a'))[2]!.reason).toMatch(/^attested \(EK certificate .* from "CN=swtpm-localca"\)$/);
  });

  it("an attested key release: quote for this request's nonce, values matching; the stanza opens in the TPM", async () => {
    const released = await requestKey(deviceA);
    expect(released.status).toBe(200);
    const stanza: Stanza = stanzaFromJson(released.body.stanza);
    expect(stanza.type).toBe('tpm-ecdh');
    const opened = await open(sealedPath, {
      identities: [{ unwrap: (_: unknown, ctx: WrapContext) => deviceA.identity.unwrap([stanza], ctx) }],
    });
    expect(Buffer.compare(Buffer.from(opened.get('ch_PP-OCRv4_det_infer.onnx')), await readFile(ocrModels.detector))).toBe(0);
    opened.dispose();
    const records = await audit('edge-a');
    expect(records.at(-1)).toMatchObject({ action: 'key_release', outcome: 'ok', reason: 'attested', modelId: MODEL });
  });

  it("refuses a key request without a quote, and a quote signed by another TPM's attestation key", async () => {
    const missing = await requestKey(deviceA, async () => undefined);
    expect(missing).toMatchObject({ status: 403, body: { error: 'quote_missing' } });
    const other = await device(await manufacture(trustedCa), 'other-tpm-device');
    const foreign = await requestKey(deviceA, async (challenge) =>
      quoteToJson(await other.ak.quote(challenge.attest!.pcrs, quoteQualifyingData('release', challenge.nonce, deviceA.id))),
    );
    expect(foreign).toMatchObject({ status: 403, body: { error: 'quote_signature_invalid' } });
    const reasons = (await audit('edge-a')).filter((record) => record.outcome === 'refused').map((record) => record.reason);
    expect(reasons).toEqual(expect.arrayContaining(['quote_missing', 'quote_signature_invalid']));
  });

  it('refuses a replayed quote (made for an earlier nonce)', async () => {
    let earlier: TpmQuote | undefined;
    await requestKey(deviceA, async (challenge) => {
      earlier = await deviceA.ak.quote(challenge.attest!.pcrs, quoteQualifyingData('release', challenge.nonce, deviceA.id));
      return quoteToJson(earlier);
    });
    const replayed = await requestKey(deviceA, async () => quoteToJson(earlier!));
    expect(replayed).toMatchObject({ status: 403, body: { error: 'quote_nonce_mismatch' } });
    const enrolPurpose = await requestKey(deviceA, async (challenge) =>
      quoteToJson(await deviceA.ak.quote(challenge.attest!.pcrs, quoteQualifyingData('enrol', challenge.nonce, deviceA.id))),
    );
    expect(enrolPurpose.body.error).toBe('quote_nonce_mismatch');
    expect((await audit('edge-a')).at(-1)).toMatchObject({ action: 'key_release', outcome: 'refused', reason: 'quote_nonce_mismatch' });
  });

  it('refuses a corrupted quote, signature or PCR values with a typed error', async () => {
    const corrupt = (change: (quote: TpmQuote) => Partial<TpmQuote>) => async (challenge: ChallengeResponse) => {
      const quote = await deviceA.ak.quote(challenge.attest!.pcrs, quoteQualifyingData('release', challenge.nonce, deviceA.id));
      return quoteToJson({ ...quote, ...change(quote) });
    };
    const flip = (bytes: Buffer, at: number) => {
      const copy = Buffer.from(bytes);
      copy[at]! ^= 0x40;
      return copy;
    };
    expect(
      (
        await requestKey(
          deviceA,
          corrupt((q) => ({ attest: flip(q.attest, 40) })),
        )
      ).body.error,
    ).toBe('quote_signature_invalid');
    expect(
      (
        await requestKey(
          deviceA,
          corrupt((q) => ({ signature: flip(q.signature, 10) })),
        )
      ).body.error,
    ).toBe('quote_signature_invalid');
    expect(
      await requestKey(
        deviceA,
        corrupt((q) => ({ signature: q.signature.subarray(0, 12) })),
      ),
    ).toMatchObject({ status: 400, body: { error: 'bad_quote' } });
    expect(
      (
        await requestKey(
          deviceA,
          corrupt((q) => ({ pcrValues: flip(q.pcrValues, 224) })),
        )
      ).body.error,
    ).toBe('quote_pcr_values');
    expect(
      (
        await requestKey(
          deviceA,
          corrupt(() => ({ pcrValues: Buffer.alloc(0) })),
        )
      ).body.error,
    ).toBe('bad_quote');
    const reasons = (await audit('edge-a')).filter((record) => record.outcome === 'refused').map((record) => record.reason);
    expect(reasons).toEqual(expect.arrayContaining(['bad_quote', 'quote_pcr_values']));
  });

  it('a PCR 7 extend makes the next release fail with pcr_mismatch naming PCR 7; an admin accepts the new value and releases work again', async () => {
    // What a changed Secure Boot state does to PCR 7.
    await run('tpm2_pcrextend', [`7:sha256=${randomBytes(32).toString('hex')}`], {
      env: { ...process.env, TPM2TOOLS_TCTI: deviceA.tpm.tcti },
    });
    const refused = await requestKey(deviceA);
    expect(refused).toMatchObject({ status: 403, body: { error: 'pcr_mismatch', mismatched: [{ policy: policyId, pcrs: 'sha256:7' }] } });
    expect(refused.body.message).toContain('sha256:7');
    const view = (await api.get('/v1/admin/devices/edge-a/attestation')).body;
    expect(view.lastRefused).toMatchObject({ reason: 'pcr_mismatch', mismatched: [{ policy: policyId, pcrs: 'sha256:7' }] });
    expect(view.lastRefused.values['7']).not.toBe(view.lastQuote.values['7']);
    expect((await requestKey(deviceA)).body.error).toBe('pcr_mismatch'); // still refused until an admin decides

    const accepted = await api.post('/v1/admin/devices/edge-a/accept-pcrs', { scope: 'device' });
    expect(accepted.status).toBe(200);
    expect(accepted.body.policies[0].values.map((set: any) => set.source)).toEqual(['tofu', 'accepted']);
    expect((await requestKey(deviceA)).status).toBe(200);
    const records = await audit('edge-a');
    expect(
      records
        .filter((record) => record.reason === 'pcr_mismatch')
        .every((record) => record.action === 'key_release' && record.outcome === 'refused'),
    ).toBe(true);
    expect(records.find((record) => record.action === 'accept_pcrs')).toMatchObject({ actor: 'admin', outcome: 'ok' });
  });

  it('refuses an attestation key not proven by a credential challenge', async () => {
    const liar = await device(tpms[0]!, 'edge-liar', { newAk: false });
    const elsewhere = await device(await manufacture(trustedCa), 'edge-elsewhere');
    // This TPM's EK certificate with another TPM's AK: the TPM cannot activate the credential.
    const claims = { akPublic: b64(elsewhere.ak.publicArea) };
    const first = await enrolRequest(await token(), liar, claimsOf(liar, claims));
    expect(first.status).toBe(202);
    const challenge = first.body as ActivationChallenge;
    await expect(
      liar.ak.activateCredential({
        idObject: Buffer.from(challenge.idObject, 'base64'),
        encryptedSecret: Buffer.from(challenge.encryptedSecret, 'base64'),
      }),
    ).rejects.toThrow();
    const guessed = await enrol(await token(), liar, { claims, secret: randomBytes(32) });
    expect(guessed).toMatchObject({ status: 403, body: { error: 'activation_failed' } });
    expect((await api.get('/v1/admin/devices/edge-liar')).status).toBe(404);
    expect((await audit('edge-liar')).at(-1)).toMatchObject({ action: 'enrol', outcome: 'refused', reason: 'activation_failed' });
  });

  it('refuses an EK certificate from an untrusted CA', async () => {
    const untrusted = await device(await manufacture(join(work.path, 'ca-untrusted')), 'edge-untrusted');
    const refused = await enrolRequest(await token(), untrusted, claimsOf(untrusted));
    expect(refused).toMatchObject({ status: 403, body: { error: 'ek_certificate_untrusted' } });
    expect((await audit('edge-untrusted')).at(-1)).toMatchObject({
      action: 'enrol',
      outcome: 'refused',
      reason: 'ek_certificate_untrusted',
    });
  });

  it('a TPM without an EK certificate enrols only under a token that allows it, and both are audited', async () => {
    const bare = await device(await manufacture(null), 'edge-bare');
    expect(bare.ek.certificate).toBeNull();
    expect((await enrol(await token(), bare)).body.error).toBe('ek_certificate_required');
    const allowing = await api.post('/v1/admin/enrolment-tokens', { labels: ['line-1'], ttlSeconds: 600, allowMissingEkCertificate: true });
    expect(allowing.body.allowMissingEkCertificate).toBe(true);
    expect((await enrol(allowing.body.token, bare)).status).toBe(201);
    expect((await api.get('/v1/admin/devices/edge-bare/attestation')).body.ek).toMatchObject({
      verification: 'no-certificate',
      issuer: null,
    });
    expect((await audit('edge-bare')).find((record) => record.action === 'enrol' && record.outcome === 'ok')!.reason).toBe(
      `attested (no EK certificate: allowed by token ${allowing.body.id})`,
    );
    const all = (await api.get('/v1/admin/audit?limit=1000')).body.records;
    expect(
      all.find(
        (record: any) => record.action === 'create_enrolment_token' && record.reason === `${allowing.body.id} (allowMissingEkCertificate)`,
      ),
    ).toBeDefined();
    expect((await requestKey(bare)).status).toBe(200);
  });

  it("one TPM enrols one device; a revoked device's TPM never enrols again", async () => {
    const twin = await device(tpms[0]!, 'edge-a-twin', { newAk: false });
    expect(await enrol(await token(), twin)).toMatchObject({ status: 409, body: { error: 'ek_registered' } });
    const victim = await device(await manufacture(trustedCa), 'edge-stolen');
    expect((await enrol(await token(), victim)).status).toBe(201);
    expect((await api.post('/v1/admin/devices/edge-stolen/revoke', { reason: 'stolen' })).status).toBe(200);
    const again = await device(victim.tpm, 'edge-stolen-2', { newAk: false });
    expect(await enrol(await token(), again)).toMatchObject({ status: 403, body: { error: 'key_revoked' } });
  });

  it('a device enrolled without attestation gets nothing where a policy applies; a token can require attestation', async () => {
    const plain = await device(await manufacture(trustedCa), 'edge-plain');
    expect((await enrolRequest(await token({ requireAttestation: true }), plain, undefined)).body.error).toBe('attestation_required');
    expect((await enrolRequest(await token(), plain, undefined)).status).toBe(201);
    expect(await requestKey(plain, async () => undefined)).toMatchObject({ status: 403, body: { error: 'attestation_required' } });
  });

  it('refuses a TPM whose state was rolled back (reset counter below the last accepted quote); an admin can accept it', async () => {
    const stateDir = join(work.path, 'rollback-state');
    const snapshot = join(work.path, 'rollback-snapshot');
    await mkdir(stateDir);
    let tpm = await manufacture(trustedCa, stateDir);
    const first = await device(tpm, 'edge-rollback');
    expect((await enrol(await token(), first)).status).toBe(201);
    await tpm.close();
    await cp(stateDir, snapshot, { recursive: true });
    tpm = await manufacture(null, stateDir);
    await tpm.restart(); // one more reset: the baseline moves past the snapshot's next boot
    const booted = {
      ...first,
      tpm,
      ak: await AttestationKey.open(undefined, { tcti: tpm.tcti }),
      identity: await TpmEcdhIdentity.open({ keyDir: join(work.path, 'keys', 'edge-rollback') }, { tcti: tpm.tcti }),
    };
    expect((await requestKey(booted)).status).toBe(200);
    await tpm.close();
    await rm(stateDir, { recursive: true });
    await cp(snapshot, stateDir, { recursive: true });
    tpm = await manufacture(null, stateDir);
    const restored = {
      ...first,
      tpm,
      ak: await AttestationKey.open(undefined, { tcti: tpm.tcti }),
      identity: await TpmEcdhIdentity.open({ keyDir: join(work.path, 'keys', 'edge-rollback') }, { tcti: tpm.tcti }),
    };
    expect(await requestKey(restored)).toMatchObject({ status: 403, body: { error: 'tpm_counters_rollback' } });
    expect((await api.post('/v1/admin/devices/edge-rollback/accept-pcrs', {})).status).toBe(200);
    expect((await requestKey(restored)).status).toBe(200);
  });
});
