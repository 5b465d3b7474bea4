import type { Stanza } from '@ovseal/container';
import { stanzaToJson } from '../protocol/stanza-json.js';
import type { DeviceModel, DeviceModelList, KeyReleaseResponse } from '../protocol/types.js';
import type { BrokerStore, DeviceRecord, ModelRecord } from '../store.js';
import { enrolAttested } from './attestation/attested-enrolment.js';
import { attestRequestFor, checkReleaseAttestation } from './attestation/release-attestation.js';
import { objectField } from './attestation/wire-bytes.js';
import { refuse, withAuditedRefusal, type BrokerCore } from './broker-core.js';
import { ENROLMENT_STATUS } from './enrolment.js';
import { sha256Digest } from './admin-routes.js';
import { parseDevicePublicKey } from './device-keys.js';
import { grantedModels, isActive, covers, subjectMatches, pickGrant } from './grants.js';
import { HttpError, ID_PATTERN, optionalString, parseJsonObject, requireString, sendJson } from './http.js';
import type { RequestContext, Route } from './router.js';
import { serveFile } from './serve-file.js';
import { deviceView } from './views.js';

const iso = (ms: number) => new Date(ms).toISOString();
const etagOf = (model: ModelRecord) => (model.sha256 ? `"${model.sha256}"` : null);

function notAfterOf(grantNotAfter: number, model: ModelRecord): number {
  return model.notAfter === null ? grantNotAfter : Math.min(grantNotAfter, model.notAfter);
}


function requireNotRevoked(device: DeviceRecord): void {
  if (device.revokedAt !== null) throw new HttpError(403, 'device_revoked', 'this device is revoked');
}

/** The device API: challenges, enrolment, the model list, key release, container downloads. */
export function deviceRoutes(core: BrokerCore): Route[] {
  const store: BrokerStore = core.store;
  return [
    {
      method: 'POST',
      path: '/v1/challenges',
      auth: 'challenge',
      bodyLimit: 4096,
      async handler(ctx) {
        const deviceId = requireString(parseJsonObject(ctx.body), 'deviceId', ID_PATTERN);
        ctx.subject = deviceId;
        // An unknown id gets a challenge that looks the same (no one can list which ids exist); no
        // key can answer it.
        const device = await store.getDevice(deviceId);
        const challenge = device ? await core.authenticator.issue(device, ctx.now) : await core.authenticator.issueDecoy(deviceId, ctx.now);
        sendJson(ctx.res, 201, { ...challenge, attest: await attestRequestFor(store, core.attestation, device) });
      },
    },
    {
      method: 'POST',
      path: '/v1/enrol',
      auth: 'enrolment',
      bodyLimit: 16 * 1024,
      async handler(ctx) {
        const token = /^Bearer (\S+)$/.exec(ctx.req.headers.authorization ?? '')?.[1];
        if (!token) throw new HttpError(401, 'unauthenticated', 'enrolment needs "Authorization: Bearer <enrolment token>"');
        const body = parseJsonObject(ctx.body);
        const deviceId = requireString(body, 'deviceId', ID_PATTERN);
        ctx.subject = deviceId;
        const key = parseDevicePublicKey(requireString(body, 'publicKeyPem'), optionalString(body, 'keyType'));
        const device: DeviceRecord = { id: deviceId, keyType: key.keyType, publicKeyPem: key.publicKeyPem, keyId: key.keyId, labels: [], registeredAt: ctx.now, revokedAt: null, revokedReason: null };
        const audit = { at: ctx.now, actor: 'enrolment', action: 'enrol', outcome: 'ok' as const, deviceId, remote: ctx.remote };
        const attestation = objectField(body, 'attestation', 'bad_attestation');
        if (attestation) {
          const tokenHash = sha256Digest(token).toString('hex');
          await withAuditedRefusal(core, ctx, { actor: 'enrolment', action: 'enrol', deviceId }, () => enrolAttested(core, ctx, tokenHash, device, attestation, audit));
          return;
        }
        const outcome = await store.enrolDevice(sha256Digest(token).toString('hex'), device, ctx.now, audit);
        if (!outcome.ok) {
          const status = ENROLMENT_STATUS[outcome.reason];
          await refuse(core, ctx, { actor: 'enrolment', action: 'enrol', deviceId }, status, outcome.reason, `enrolment refused: ${outcome.reason.replaceAll('_', ' ')}`);
        } else {
          sendJson(ctx.res, 201, deviceView(outcome.device));
        }
      },
    },
    {
      method: 'GET',
      path: '/v1/models',
      auth: 'device',
      async handler(ctx) {
        const device = ctx.device!;
        requireNotRevoked(device);
        const granted = grantedModels(await store.grantsForDevice(device), await store.listModels(), ctx.now);
        const expires = Math.floor(ctx.now / 1000) + core.urlTtlSeconds;
        const models: DeviceModel[] = granted.map(({ model, grants }) => ({
          id: model.id,
          name: model.name,
          version: model.version,
          containerId: model.containerId,
          size: model.size,
          etag: etagOf(model),
          url: model.storage.kind === 'url' ? model.storage.url : core.signer.sign(core.publicUrl(), model.id, device.id, expires),
          notAfter: iso(notAfterOf(Math.max(...grants.map((grant) => grant.notAfter)), model)),
          releasesLeft: grants.reduce((sum, grant) => sum + Math.max(0, grant.maxReleases - grant.releases), 0),
        }));
        const list: DeviceModelList = { deviceId: device.id, models };
        sendJson(ctx.res, 200, list);
      },
    },
    {
      method: 'POST',
      path: '/v1/models/:id/key',
      auth: 'device',
      handler: (ctx) => releaseKey(core, ctx),
    },
    {
      method: 'GET',
      path: '/v1/containers/:id',
      auth: 'signed-url',
      async handler(ctx) {
        const modelId = ctx.params['id']!;
        const deviceId = core.signer.verify(modelId, ctx.url.searchParams, Math.floor(ctx.now / 1000));
        if (!deviceId) throw new HttpError(401, 'bad_url_signature', 'the download URL is invalid or expired: list the models again');
        ctx.subject = deviceId;
        const [device, model] = await Promise.all([store.getDevice(deviceId), store.getModel(modelId)]);
        if (!device || !model) throw new HttpError(404, 'not_found', 'no such container');
        requireNotRevoked(device);
        const grants = await store.grantsForDevice(device);
        if (!grants.some((grant) => isActive(grant, ctx.now) && covers(grant, model) && subjectMatches(grant, device))) {
          throw new HttpError(403, 'not_granted', 'this device has no active grant for the model');
        }
        if (model.storage.kind !== 'file') throw new HttpError(404, 'not_found', 'this container is hosted elsewhere');
        await serveFile(ctx.req, ctx.res, model.storage.path, etagOf(model)!);
      },
    },
  ];
}

/**
 * `POST /v1/models/{id}/key`: authorization (device, model, grant, count), unwrap with the broker's
 * identity, count the release and write the audit record in one transaction, re-wrap to the
 * device's TPM key. The data key never leaves the broker in clear.
 */
async function releaseKey(core: BrokerCore, ctx: RequestContext): Promise<void> {
  const device = ctx.device!;
  const modelId = ctx.params['id']!;
  const audit = { actor: `device:${device.id}`, action: 'key_release', deviceId: device.id, modelId };
  if (device.revokedAt !== null) await refuse(core, ctx, audit, 403, 'device_revoked', 'this device is revoked');
  const model = await core.store.getModel(modelId);
  if (!model) await refuse(core, ctx, audit, 404, 'unknown_model', 'no such model');
  if (model!.notAfter !== null && model!.notAfter <= ctx.now) await refuse(core, ctx, audit, 403, 'model_expired', 'the model is past its not-after date');
  const wait = core.deviceLimiter?.take(device.id) ?? 0;
  if (wait > 0) throw new HttpError(429, 'rate_limited', 'too many key requests from this device', { 'retry-after': String(wait) });
  const picked = pickGrant(await core.store.grantsForDevice(device), model!, ctx.now);
  if ('reason' in picked) await refuse(core, ctx, audit, 403, picked.reason, `key release refused: ${picked.reason.replaceAll('_', ' ')}`);
  const grant = (picked as { grant: { id: string } }).grant;
  const attested = await withAuditedRefusal(core, ctx, { ...audit, grantId: grant.id }, () =>
    checkReleaseAttestation(core.store, core.attestation, device, parseJsonObject(ctx.body), ctx.nonce!, ctx.now),
  );

  // Unwrapped from the registered header (key commitment and MAC checked) and re-wrapped to this
  // device's key inside @ovseal/container: the data key never reaches this code.
  let stanza: Stanza;
  try {
    stanza = await core.modelKeys.rewrapFor(model!, core.recipients.for(device));
  } catch (error) {
    core.logger.error('unwrap_failed', { model: modelId, code: (error as { code?: string }).code ?? 'unknown' });
    await core.store.appendAudit({ ...audit, grantId: grant.id, at: ctx.now, outcome: 'error', reason: 'key_unavailable', remote: ctx.remote });
    throw new HttpError(503, 'key_unavailable', 'the broker cannot unwrap this model key right now; retry later', { 'retry-after': '5' });
  }
  const recorded = await core.store.recordRelease(grant.id, device.id, ctx.now, { ...audit, grantId: grant.id, at: ctx.now, outcome: 'ok', reason: attested ? 'attested' : null, remote: ctx.remote });
  if (!recorded.ok) await refuse(core, ctx, { ...audit, grantId: grant.id }, 403, recorded.reason, `key release refused: ${recorded.reason.replaceAll('_', ' ')}`);
  const { grant: counted } = recorded as { ok: true; grant: { notAfter: number; maxReleases: number; releases: number } };
  const response: KeyReleaseResponse = {
    model: model!.id,
    name: model!.name,
    version: model!.version,
    containerId: model!.containerId,
    stanza: stanzaToJson(stanza),
    notAfter: iso(notAfterOf(counted.notAfter, model!)),
    releasesLeft: counted.maxReleases - counted.releases,
  };
  sendJson(ctx.res, 200, response);
}

