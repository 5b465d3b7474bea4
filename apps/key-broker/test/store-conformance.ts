// One conformance suite for every BrokerStore (SQLite, PostgreSQL): what the interface promises,
// atomic methods included. `open` gives instances on one shared database — brokers of one
// deployment — so the races below run across instances (connections) where the store allows it.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrokerError,
  type AuditInput,
  type BrokerStore,
  type DeviceAttestationRecord,
  type DeviceRecord,
  type EnrolmentTokenRecord,
  type GrantRecord,
  type ModelRecord,
  type PcrValuesRecord,
  type QuoteRecord,
} from '../src/index.js';

export interface StoreFixture {
  /** A new instance on the same database (another broker). */
  open(): Promise<BrokerStore>;
  /** Tries to change an audit row behind the store's back; resolves with the error it met. */
  tamperAudit(): Promise<unknown>;
  cleanup(): Promise<void>;
}

const NOW = Date.now();
const hex = (bytes = 16) => randomBytes(bytes).toString('hex');

function device(overrides: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    id: `dev-${hex(4)}`,
    keyType: 'tpm-ecdh',
    publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${hex()}\n-----END PUBLIC KEY-----\n`,
    keyId: hex(32),
    labels: [],
    registeredAt: NOW,
    revokedAt: null,
    revokedReason: null,
    ...overrides,
  };
}

function grant(overrides: Partial<GrantRecord> = {}): GrantRecord {
  return {
    id: `g-${randomUUID()}`,
    subject: { kind: 'label', value: 'fleet' },
    modelName: 'det',
    modelVersion: null,
    notAfter: NOW + 3_600_000,
    maxReleases: 10,
    releases: 0,
    maxReleasesPerDevice: null,
    createdAt: NOW,
    revokedAt: null,
    ...overrides,
  };
}

function model(overrides: Partial<ModelRecord> = {}): ModelRecord {
  const version = overrides.version ?? `1.${hex(2)}`;
  return {
    id: `det@${version}`,
    name: 'det',
    version,
    containerId: hex(),
    format: 'onnx',
    createdAt: NOW,
    notAfter: null,
    entries: [{ name: 'm.onnx', role: 'onnx', size: 42 }],
    stanzas: [{ type: 'file', args: ['x'], body: 'AAEC' }],
    header: new Uint8Array(randomBytes(300)),
    size: 1000,
    sha256: hex(32),
    payloadDigest: hex(32),
    signatureKeyId: null,
    storage: { kind: 'url', url: 'https://models.example/det.ovseal' },
    registeredAt: NOW,
    ...overrides,
  };
}

function token(overrides: Partial<EnrolmentTokenRecord> = {}): EnrolmentTokenRecord {
  return {
    id: `e-${randomUUID()}`,
    tokenHash: hex(32),
    labels: ['fleet', 'site-a'],
    expiresAt: NOW + 3_600_000,
    maxUses: 1,
    uses: 0,
    deviceId: null,
    deviceIdPattern: null,
    requireAttestation: false,
    allowMissingEkCertificate: false,
    createdAt: NOW,
    revokedAt: null,
    ...overrides,
  };
}

function attestation(deviceId: string, overrides: Partial<DeviceAttestationRecord> = {}): DeviceAttestationRecord {
  return {
    deviceId,
    ekPublic: new Uint8Array(randomBytes(90)),
    ekName: `000b${hex(32)}`,
    ekCertificate: new Uint8Array(randomBytes(500)),
    ekVerification: 'certificate',
    ekIssuer: 'CN=TPM CA',
    akPublic: new Uint8Array(randomBytes(90)),
    akName: `000b${hex(32)}`,
    enrolledAt: NOW,
    counters: { resetCount: 3, restartCount: 1 },
    lastQuote: quote(3, 1),
    lastRefused: null,
    ...overrides,
  };
}

function quote(resetCount: number, restartCount: number, overrides: Partial<QuoteRecord> = {}): QuoteRecord {
  return {
    at: NOW,
    pcrs: 'sha256:0,7',
    values: { '0': hex(32), '7': hex(32) },
    clock: '123456',
    resetCount,
    restartCount,
    safe: true,
    firmwareVersion: '0x20240125',
    ...overrides,
  };
}

function pcrValues(policyId: string, deviceId: string | null, overrides: Partial<PcrValuesRecord> = {}): PcrValuesRecord {
  return {
    id: `v-${randomUUID()}`,
    policyId,
    deviceId,
    values: { '0': hex(32), '7': hex(32) },
    source: 'admin',
    note: null,
    addedAt: NOW,
    removedAt: null,
    ...overrides,
  };
}

const releaseAudit = (deviceId: string, grantId: string): AuditInput => ({
  at: NOW,
  actor: `device:${deviceId}`,
  action: 'key_release',
  outcome: 'ok',
  deviceId,
  modelId: 'det@1',
  grantId,
});
const enrolAudit = (deviceId: string): AuditInput => ({ at: NOW, actor: 'enrolment', action: 'enrol', outcome: 'ok', deviceId });

function tally<T extends { ok: boolean }>(outcomes: T[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.ok ? 'ok' : (outcome as unknown as { reason: string }).reason;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** The suite: call it from one test file per store. */
export function describeStoreConformance(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`BrokerStore conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let stores: BrokerStore[];
    let store: BrokerStore;
    /** Spreads calls over the instances, as a load balancer spreads requests over brokers. */
    const on = (index: number) => stores[index % stores.length]!;

    beforeAll(async () => {
      fixture = await setup();
      stores = [await fixture.open(), await fixture.open(), await fixture.open()];
      store = stores[0]!;
    });

    afterAll(async () => {
      for (const instance of stores ?? []) await instance.close();
      await fixture?.cleanup();
    });

    it('secret(): created once, the same bytes for every instance, whoever races', async () => {
      const values = await Promise.all(stores.map((instance) => instance.secret('conformance', () => randomBytes(32))));
      for (const value of values) expect(Buffer.from(value).equals(Buffer.from(values[0]!))).toBe(true);
      expect(Buffer.from(await store.secret('conformance', () => randomBytes(32))).equals(Buffer.from(values[0]!))).toBe(true);
    });

    it('models: stored as given (header bytes, JSON fields, storage), listed, never replaced', async () => {
      const record = model({ notAfter: NOW + 1000, storage: { kind: 'file', path: '/var/lib/x.ovseal' } });
      await store.insertModel(record);
      expect(await on(1).getModel(record.id)).toEqual(record);
      expect((await store.listModels()).map((m) => m.id)).toContain(record.id);
      await expect(on(2).insertModel(record)).rejects.toMatchObject({ code: 'ERR_BROKER_CONFLICT' });
      expect(await store.getModel('det@none')).toBeUndefined();
      const headerless = model({ header: null, sha256: null });
      await store.insertModel(headerless);
      expect(await store.getModel(headerless.id)).toEqual(headerless);
    });

    it('devices: stored, listed; revoking revokes the key and every device that has it, once', async () => {
      const first = device({ labels: ['a', 'b'] });
      const sameKey = device({ keyId: first.keyId });
      await store.insertDevice(first);
      await on(1).insertDevice(sameKey);
      expect(await on(2).getDevice(first.id)).toEqual(first);
      await expect(store.insertDevice(first)).rejects.toBeInstanceOf(BrokerError);
      expect(await store.isKeyRevoked(first.keyId)).toBe(false);
      const revoked = await on(1).revokeDevice(first.id, NOW + 5, 'lost');
      expect(revoked).toMatchObject({ id: first.id, revokedAt: NOW + 5, revokedReason: 'lost' });
      expect((await store.getDevice(sameKey.id))?.revokedAt).toBe(NOW + 5);
      expect(await on(2).isKeyRevoked(first.keyId)).toBe(true);
      expect((await store.revokeDevice(first.id, NOW + 99, 'again'))?.revokedAt).toBe(NOW + 5);
      expect(await store.revokeDevice('no-such-device', NOW, 'x')).toBeUndefined();
      expect((await store.listDevices()).map((d) => d.id)).toEqual(expect.arrayContaining([first.id, sameKey.id]));
    });

    it('grants: a device grant matches that device with that key only; label grants match labels; revocation keeps the first time', async () => {
      const member = device({ labels: ['line-7', 'other'] });
      await store.insertDevice(member);
      const byLabel = grant({ subject: { kind: 'label', value: 'line-7' }, modelVersion: '2.0' });
      const byDevice = grant({ subject: { kind: 'device', value: member.id, keyId: member.keyId }, maxReleasesPerDevice: 3 });
      const otherKey = grant({ subject: { kind: 'device', value: member.id, keyId: hex(32) } });
      const otherLabel = grant({ subject: { kind: 'label', value: 'line-8' } });
      for (const [index, record] of [byLabel, byDevice, otherKey, otherLabel].entries()) await on(index).insertGrant(record);
      await expect(store.insertGrant(byLabel)).rejects.toMatchObject({ code: 'ERR_BROKER_CONFLICT' });
      expect(await on(1).getGrant(byDevice.id)).toEqual(byDevice);
      const found = await on(2).grantsForDevice(member);
      expect(found.map((g) => g.id).sort()).toEqual([byLabel.id, byDevice.id].sort());
      expect(found.every((g) => g.deviceReleases === 0)).toBe(true);
      expect(await store.revokeGrant(byLabel.id, NOW + 1)).toBe(true);
      expect(await store.revokeGrant(byLabel.id, NOW + 2)).toBe(true);
      expect((await store.getGrant(byLabel.id))?.revokedAt).toBe(NOW + 1);
      expect(await store.revokeGrant('g-none', NOW)).toBe(false);
      expect((await store.listGrants()).map((g) => g.id)).toEqual(expect.arrayContaining([byLabel.id, byDevice.id]));
    });

    it('recordRelease(): 50 concurrent releases over three instances against maxReleases 10 count exactly 10, each audited', async () => {
      const record = grant({ maxReleases: 10 });
      await store.insertGrant(record);
      const devices = Array.from({ length: 50 }, () => device());
      const outcomes = await Promise.all(
        devices.map((d, index) => on(index).recordRelease(record.id, d.id, NOW, releaseAudit(d.id, record.id))),
      );
      expect(tally(outcomes)).toEqual({ ok: 10, releases_exhausted: 40 });
      expect((await on(1).getGrant(record.id))?.releases).toBe(10);
      const audit = await store.listAudit({ limit: 10_000 });
      expect(audit.filter((entry) => entry.grantId === record.id && entry.action === 'key_release')).toHaveLength(10);
    });

    it('recordRelease(): the per-device cap holds under concurrency and a refused step counts nothing', async () => {
      const record = grant({ maxReleases: 100, maxReleasesPerDevice: 2 });
      await store.insertGrant(record);
      const one = device();
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, index) => on(index).recordRelease(record.id, one.id, NOW, releaseAudit(one.id, record.id))),
      );
      expect(tally(outcomes)).toEqual({ ok: 2, device_releases_exhausted: 10 });
      expect((await store.getGrant(record.id))?.releases).toBe(2);
      expect((await store.grantsForDevice({ ...one, labels: ['fleet'] })).find((g) => g.id === record.id)?.deviceReleases).toBe(2);
      const zero = grant({ maxReleasesPerDevice: 0 });
      await store.insertGrant(zero);
      expect(await store.recordRelease(zero.id, one.id, NOW, releaseAudit(one.id, zero.id))).toEqual({
        ok: false,
        reason: 'device_releases_exhausted',
      });
      expect((await store.getGrant(zero.id))?.releases).toBe(0);
    });

    it('recordRelease(): revoked or expired grants release nothing', async () => {
      const revoked = grant({ revokedAt: NOW - 1 });
      const expired = grant({ notAfter: NOW - 1 });
      await store.insertGrant(revoked);
      await store.insertGrant(expired);
      for (const record of [revoked, expired])
        expect((await store.recordRelease(record.id, 'd', NOW, releaseAudit('d', record.id))).ok).toBe(false);
    });

    it('recordRelease(requestId): a request id is counted once, however often and wherever it is retried', async () => {
      const record = grant({ maxReleases: 5 });
      await store.insertGrant(record);
      const one = device();
      const requestId = randomUUID();
      const outcomes = await Promise.all(
        Array.from({ length: 9 }, (_, index) =>
          on(index).recordRelease(record.id, one.id, NOW, releaseAudit(one.id, record.id), { requestId }),
        ),
      );
      expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
      expect(outcomes.filter((outcome) => outcome.ok && !outcome.repeated)).toHaveLength(1);
      expect((await store.getGrant(record.id))?.releases).toBe(1);
      expect(await on(2).findReleaseRequest(one.id, requestId)).toMatchObject({
        deviceId: one.id,
        requestId,
        grantId: record.id,
        modelId: 'det@1',
        at: NOW,
      });
      expect(await store.findReleaseRequest('another-device', requestId)).toBeUndefined();
      // Another request id counts again.
      expect(await store.recordRelease(record.id, one.id, NOW, releaseAudit(one.id, record.id), { requestId: randomUUID() })).toMatchObject(
        { ok: true, grant: { releases: 2 } },
      );
      // A refused request leaves its id unused: a retry may count once releases are back.
      const full = grant({ maxReleases: 0 });
      await store.insertGrant(full);
      const refusedId = randomUUID();
      expect((await store.recordRelease(full.id, one.id, NOW, releaseAudit(one.id, full.id), { requestId: refusedId })).ok).toBe(false);
      expect(await store.findReleaseRequest(one.id, refusedId)).toBeUndefined();
    });

    it('recordRelease(nonce): the request nonce used in the commit of the release — once, raced or not; a refusal leaves it unused', async () => {
      const record = grant({ maxReleases: 100 });
      await store.insertGrant(record);
      const one = device();
      const nonce = { nonce: hex(), expiresAt: NOW + 60_000 };
      const outcomes = await Promise.all(
        Array.from({ length: 9 }, (_, index) =>
          on(index).recordRelease(record.id, one.id, NOW, releaseAudit(one.id, record.id), { requestId: randomUUID(), nonce }),
        ),
      );
      expect(tally(outcomes)).toEqual({ ok: 1, replayed: 8 });
      expect((await store.getGrant(record.id))?.releases).toBe(1);
      expect(await on(1).useNonce(nonce.nonce, one.id, nonce.expiresAt)).toBe(false);
      // Used before (by authentication, on any instance): nothing counted.
      const used = { nonce: hex(), expiresAt: NOW + 60_000 };
      expect(await on(2).useNonce(used.nonce, one.id, used.expiresAt)).toBe(true);
      expect(await store.recordRelease(record.id, one.id, NOW, releaseAudit(one.id, record.id), { nonce: used })).toEqual({
        ok: false,
        reason: 'replayed',
      });
      expect((await store.getGrant(record.id))?.releases).toBe(1);
      // Refused: the nonce stays unused (the caller uses it when it answers the refusal).
      const full = grant({ maxReleases: 0 });
      await store.insertGrant(full);
      const kept = { nonce: hex(), expiresAt: NOW + 60_000 };
      expect(await store.recordRelease(full.id, one.id, NOW, releaseAudit(one.id, full.id), { nonce: kept })).toEqual({
        ok: false,
        reason: 'releases_exhausted',
      });
      expect(await on(1).useNonce(kept.nonce, one.id, kept.expiresAt)).toBe(true);
      // A repeated request id still uses the new request's nonce.
      const requestId = randomUUID();
      expect(
        (
          await store.recordRelease(record.id, one.id, NOW, releaseAudit(one.id, record.id), {
            requestId,
            nonce: { nonce: hex(), expiresAt: NOW + 60_000 },
          })
        ).ok,
      ).toBe(true);
      const again = { nonce: hex(), expiresAt: NOW + 60_000 };
      expect(await on(2).recordRelease(record.id, one.id, NOW, releaseAudit(one.id, record.id), { requestId, nonce: again })).toMatchObject(
        { ok: true, repeated: true },
      );
      expect(await store.useNonce(again.nonce, one.id, again.expiresAt)).toBe(false);
    });

    it('useNonce(): one use, even when raced on every instance; purgeNonces drops the expired ones only', async () => {
      const nonce = hex();
      const uses = await Promise.all(Array.from({ length: 20 }, (_, index) => on(index).useNonce(nonce, 'd', NOW + 60_000)));
      expect(uses.filter(Boolean)).toHaveLength(1);
      const old = hex();
      expect(await store.useNonce(old, 'd', NOW - 10)).toBe(true);
      expect(await on(1).purgeNonces(NOW)).toBeGreaterThanOrEqual(1);
      expect(await store.useNonce(nonce, 'd', NOW + 60_000)).toBe(false);
      expect(await store.useNonce(old, 'd', NOW - 10)).toBe(true); // purged (a stale nonce is refused on its time anyway)
    });

    it('enrolDevice(): a one-use token raced on three instances enrols one device', async () => {
      const record = token({ maxUses: 1 });
      await store.insertEnrolmentToken(record);
      const candidates = Array.from({ length: 15 }, () => device());
      const outcomes = await Promise.all(candidates.map((d, index) => on(index).enrolDevice(record.tokenHash, d, NOW, enrolAudit(d.id))));
      expect(tally(outcomes)).toEqual({ ok: 1, token_used_up: 14 });
      const winner = outcomes.find((outcome) => outcome.ok) as { ok: true; device: DeviceRecord };
      expect(winner.device.labels).toEqual(record.labels);
      expect(await on(2).getDevice(winner.device.id)).toMatchObject({ id: winner.device.id, labels: record.labels });
      expect((await store.listEnrolmentTokens()).find((t) => t.id === record.id)?.uses).toBe(1);
      expect((await store.listAudit({ limit: 10_000 })).filter((entry) => entry.actor === `enrolment:${record.id}`)).toHaveLength(1);
    });

    it('enrolDevice(): one key enrols one device, also when raced under several ids', async () => {
      const record = token({ maxUses: 50 });
      await store.insertEnrolmentToken(record);
      const keyId = hex(32);
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, index) => on(index).enrolDevice(record.tokenHash, device({ keyId }), NOW, enrolAudit('x'))),
      );
      expect(tally(outcomes)).toEqual({ ok: 1, key_registered: 11 });
      const sameId = device();
      const both = await Promise.all(
        [0, 1, 2].map((index) => on(index).enrolDevice(record.tokenHash, { ...sameId, keyId: hex(32) }, NOW, enrolAudit(sameId.id))),
      );
      expect(tally(both)).toEqual({ ok: 1, device_exists: 2 });
    });

    it('enrolDevice(): every refusal, with its reason and nothing written', async () => {
      const wildcard = token({ maxUses: 10, deviceIdPattern: 'line3-*' });
      const fixed = token({ maxUses: 10, deviceId: 'exact-1' });
      const expired = token({ expiresAt: NOW - 1 });
      const revoked = token({ revokedAt: NOW - 1 });
      for (const record of [wildcard, fixed, expired, revoked]) await store.insertEnrolmentToken(record);
      const reason = async (hash: string, d: DeviceRecord) => {
        const outcome = await on(1).enrolDevice(hash, d, NOW, enrolAudit(d.id));
        return outcome.ok ? 'ok' : outcome.reason;
      };
      expect(await reason(hex(32), device())).toBe('invalid_token');
      expect(await reason(expired.tokenHash, device())).toBe('token_expired');
      expect(await reason(revoked.tokenHash, device())).toBe('token_revoked');
      expect(await reason(wildcard.tokenHash, device({ id: 'line4-x' }))).toBe('device_id_not_allowed');
      expect(await reason(fixed.tokenHash, device({ id: 'exact-2' }))).toBe('device_id_not_allowed');
      expect(await reason(fixed.tokenHash, device({ id: 'exact-1' }))).toBe('ok');
      expect(await reason(wildcard.tokenHash, device({ id: 'exact-1' }))).toBe('device_id_not_allowed');
      const gone = device({ id: 'line3-gone' });
      await store.insertDevice(gone);
      await store.revokeDevice(gone.id, NOW, 'stolen');
      expect(await reason(wildcard.tokenHash, device({ id: 'line3-back', keyId: gone.keyId }))).toBe('key_revoked');
      expect(await reason(wildcard.tokenHash, device({ id: 'line3-gone' }))).toBe('device_exists');
      expect((await store.listEnrolmentTokens()).find((t) => t.id === wildcard.id)?.uses).toBe(0);
      expect(await store.getDevice('line3-back')).toBeUndefined();
      expect(await store.revokeEnrolmentToken(wildcard.id, NOW + 1)).toBe(true);
      expect(await store.revokeEnrolmentToken(wildcard.id, NOW + 2)).toBe(true);
      expect((await store.listEnrolmentTokens()).find((t) => t.id === wildcard.id)?.revokedAt).toBe(NOW + 1);
      expect(await store.revokeEnrolmentToken('e-none', NOW)).toBe(false);
    });

    it('attested enrolment: the attestation row and trust-on-first-use captures in the enrolment, read back as written', async () => {
      const policy = {
        id: `p-${hex(4)}`,
        subject: { kind: 'label' as const, value: 'attested' },
        pcrs: 'sha256:0,7',
        tofu: 'first-device' as const,
        note: 'boot chain',
        createdAt: NOW,
        removedAt: null,
      };
      await store.insertPcrPolicy(policy);
      await expect(on(1).insertPcrPolicy(policy)).rejects.toMatchObject({ code: 'ERR_BROKER_CONFLICT' });
      const record = token({ maxUses: 5, labels: ['attested'], requireAttestation: true, allowMissingEkCertificate: true });
      await store.insertEnrolmentToken(record);
      expect((await on(2).listEnrolmentTokens()).find((t) => t.id === record.id)).toMatchObject({
        requireAttestation: true,
        allowMissingEkCertificate: true,
      });
      const plain = device();
      expect(await on(1).enrolDevice(record.tokenHash, plain, NOW, enrolAudit(plain.id))).toEqual({
        ok: false,
        reason: 'attestation_required',
      });
      const one = device();
      expect(await store.peekEnrolment(record.tokenHash, one, NOW)).toMatchObject({ ok: true, token: { id: record.id } });
      const written = attestation(one.id, { ekCertificate: null, ekVerification: 'no-certificate', ekIssuer: null });
      const capture = pcrValues(policy.id, null, { source: 'tofu' });
      const captureAudit = {
        at: NOW,
        actor: 'enrolment',
        action: 'capture_pcrs',
        outcome: 'ok' as const,
        deviceId: one.id,
        reason: capture.id,
      };
      expect(
        (
          await on(1).enrolDevice(record.tokenHash, one, NOW, enrolAudit(one.id), {
            attestation: written,
            captures: [{ values: capture, audit: captureAudit }],
          })
        ).ok,
      ).toBe(true);
      expect(await on(2).getAttestation(one.id)).toEqual(written);
      expect(await store.getAttestation(plain.id)).toBeUndefined();
      expect(await store.peekEnrolment(record.tokenHash, one, NOW)).toEqual({ ok: false, reason: 'device_exists' });
      // A second device's capture finds the scope taken: not inserted, not audited.
      const two = device();
      const late = pcrValues(policy.id, null, { source: 'tofu' });
      expect(
        (
          await on(2).enrolDevice(record.tokenHash, two, NOW, enrolAudit(two.id), {
            attestation: attestation(two.id),
            captures: [{ values: late, audit: { ...captureAudit, deviceId: two.id, reason: late.id } }],
          })
        ).ok,
      ).toBe(true);
      expect((await on(1).getPcrPolicy(policy.id))?.values.map((v) => v.id)).toEqual([capture.id]);
      expect(
        (await store.listAudit({ limit: 10_000 })).filter((entry) => entry.action === 'capture_pcrs').map((entry) => entry.reason),
      ).toEqual([capture.id]);
    });

    it('one TPM enrols one device: the same EK raced under several ids and keys enrols once; a revoked device takes its EK with it', async () => {
      const record = token({ maxUses: 50 });
      await store.insertEnrolmentToken(record);
      const ekName = `000b${hex(32)}`;
      const candidates = Array.from({ length: 9 }, () => device());
      const outcomes = await Promise.all(
        candidates.map((d, index) =>
          on(index).enrolDevice(record.tokenHash, d, NOW, enrolAudit(d.id), { attestation: attestation(d.id, { ekName }), captures: [] }),
        ),
      );
      expect(tally(outcomes)).toEqual({ ok: 1, ek_registered: 8 });
      const enrolled = (outcomes.find((outcome) => outcome.ok) as { device: DeviceRecord }).device;
      await on(1).revokeDevice(enrolled.id, NOW, 'stolen');
      const again = device();
      expect(
        await on(2).enrolDevice(record.tokenHash, again, NOW, enrolAudit(again.id), {
          attestation: attestation(again.id, { ekName }),
          captures: [],
        }),
      ).toEqual({ ok: false, reason: 'key_revoked' });
      expect(await store.isKeyRevoked(`ek:${ekName}`)).toBe(true);
    });

    it('recordQuote(): accepted only at or above the counters baseline; refused kept apart; baseline resets', async () => {
      const record = token({ maxUses: 1 });
      await store.insertEnrolmentToken(record);
      const one = device();
      await store.enrolDevice(record.tokenHash, one, NOW, enrolAudit(one.id), {
        attestation: attestation(one.id, { counters: { resetCount: 5, restartCount: 2 } }),
        captures: [],
      });
      expect(await on(1).recordQuote(one.id, quote(5, 2), 'accepted')).toBe(true);
      expect(await on(2).recordQuote(one.id, quote(5, 3), 'accepted')).toBe(true);
      expect(await store.recordQuote(one.id, quote(5, 1), 'accepted')).toBe(false);
      expect(await store.recordQuote(one.id, quote(4, 9), 'accepted')).toBe(false);
      expect((await store.getAttestation(one.id))?.counters).toEqual({ resetCount: 5, restartCount: 3 });
      const refused = quote(4, 9, { reason: 'pcr_mismatch', mismatched: [{ policy: 'p-boot', pcrs: 'sha256:7' }] });
      expect(await on(1).recordQuote(one.id, refused, 'refused')).toBe(true);
      expect((await store.getAttestation(one.id))?.lastRefused).toEqual(refused);
      const accepted = quote(4, 9);
      expect(await on(2).recordQuote(one.id, accepted, 'baseline')).toBe(true);
      expect(await store.getAttestation(one.id)).toMatchObject({
        counters: { resetCount: 4, restartCount: 9 },
        lastRefused: null,
        lastQuote: accepted,
      });
      expect(await store.recordQuote('nobody', quote(9, 9), 'accepted')).toBe(false);
    });

    it('PCR policies: per label and per device, value sets per device, first capture raced on three instances inserts one', async () => {
      const member = device({ labels: ['line-9'] });
      const byLabel = {
        id: `p-${hex(4)}`,
        subject: { kind: 'label' as const, value: 'line-9' },
        pcrs: 'sha256:0',
        tofu: 'each-device' as const,
        note: null,
        createdAt: NOW,
        removedAt: null,
      };
      const byDevice = { ...byLabel, id: `p-${hex(4)}`, subject: { kind: 'device' as const, value: member.id }, tofu: 'off' as const };
      const elsewhere = { ...byLabel, id: `p-${hex(4)}`, subject: { kind: 'label' as const, value: 'line-10' } };
      for (const policy of [byLabel, byDevice, elsewhere]) await on(1).insertPcrPolicy(policy);
      const shared = pcrValues(byLabel.id, null);
      const mine = pcrValues(byLabel.id, member.id, { source: 'accepted', note: 'after update' });
      const theirs = pcrValues(byLabel.id, 'other-device');
      for (const values of [shared, mine, theirs]) expect(await on(2).addPcrValues(values)).toBe(true);
      const forMember = await store.pcrPoliciesForDevice(member);
      expect(forMember.map((p) => p.id).sort()).toEqual([byLabel.id, byDevice.id].sort());
      expect(
        forMember
          .find((p) => p.id === byLabel.id)
          ?.values.map((v) => v.id)
          .sort(),
      ).toEqual([shared.id, mine.id].sort());
      expect((await on(1).getPcrPolicy(byLabel.id))?.values).toHaveLength(3);
      expect((await store.getPcrPolicy(byLabel.id))?.values.find((v) => v.id === mine.id)).toEqual(mine);
      expect(await store.removePcrValues(byLabel.id, theirs.id, NOW + 1)).toBe(true);
      expect(await store.removePcrValues(byDevice.id, mine.id, NOW + 1)).toBe(false);
      expect((await store.getPcrPolicy(byLabel.id))?.values).toHaveLength(2);
      // Trust on first use, raced: one capture per scope.
      const firsts = await Promise.all(
        Array.from({ length: 9 }, (_, index) => on(index).addPcrValues(pcrValues(byDevice.id, null, { source: 'tofu' }), true)),
      );
      expect(firsts.filter(Boolean)).toHaveLength(1);
      expect(await store.addPcrValues(pcrValues(byDevice.id, member.id, { source: 'tofu' }), true)).toBe(true);
      expect(await store.removePcrPolicy(byDevice.id, NOW + 2)).toBe(true);
      expect(await store.removePcrPolicy(byDevice.id, NOW + 3)).toBe(true);
      expect((await store.getPcrPolicy(byDevice.id))?.removedAt).toBe(NOW + 2);
      expect((await store.pcrPoliciesForDevice(member)).map((p) => p.id)).toEqual([byLabel.id]);
      expect(await store.removePcrPolicy('p-none', NOW)).toBe(false);
      expect((await on(2).listPcrPolicies()).map((p) => p.id)).toEqual(expect.arrayContaining([byLabel.id, byDevice.id, elsewhere.id]));
    });

    it('audit: appended with increasing ids, paged by id, filtered by device, and append-only', async () => {
      const who = `audit-${hex(4)}`;
      const appended = [];
      for (let index = 0; index < 5; index += 1)
        appended.push(
          await on(index).appendAudit({
            at: NOW + index,
            actor: 'admin',
            action: 'probe',
            outcome: 'ok',
            deviceId: who,
            reason: `n${index}`,
          }),
        );
      expect(appended.map((record) => record.id)).toEqual([...appended.map((record) => record.id)].sort((a, b) => a - b));
      expect(appended[0]).toMatchObject({
        at: NOW,
        actor: 'admin',
        action: 'probe',
        outcome: 'ok',
        deviceId: who,
        modelId: null,
        grantId: null,
        reason: 'n0',
        remote: null,
      });
      const page = await store.listAudit({ after: appended[1]!.id, limit: 2, deviceId: who });
      expect(page.map((record) => record.reason)).toEqual(['n2', 'n3']);
      expect(await on(2).listAudit({ limit: 100, deviceId: who })).toEqual(appended);
      expect(String(await fixture.tamperAudit())).toMatch(/append-only/);
      expect(await store.listAudit({ limit: 100, deviceId: who })).toEqual(appended);
    });
  });
}
