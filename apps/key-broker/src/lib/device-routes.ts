import type { Stanza } from '@ovseal/container';
import { REQUEST_ID_PATTERN, stanzaToJson, type DeviceModel, type DeviceModelList, type KeyReleaseResponse } from '@ovseal/broker-protocol';
import type { BrokerStore, DeviceRecord, GrantRecord, ModelRecord } from '../store.js';
import { enrolAttested } from './attestation/attested-enrolment.js';
import { attestRequestFor, checkReleaseAttestation } from './attestation/release-attestation.js';
import { objectField } from './attestation/wire-bytes.js';
import { refuse, withAuditedRefusal, type BrokerCore } from './broker-core.js';
import { replayed } from './device-auth.js';
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
        const device: DeviceRecord = {
          id: deviceId,
          keyType: key.keyType,
          publicKeyPem: key.publicKeyPem,
          keyId: key.keyId,
          labels: [],
          registeredAt: ctx.now,
          revokedAt: null,
          revokedReason: null,
        };
        const audit = { at: ctx.now, actor: 'enrolment', action: 'enrol', outcome: 'ok' as const, deviceId, remote: ctx.remote };
        const attestation = objectField(body, 'attestation', 'bad_attestation');
        if (attestation) {
          const tokenHash = sha256Digest(token).toString('hex');
          await withAuditedRefusal(core, ctx, { actor: 'enrolment', action: 'enrol', deviceId }, () =>
            enrolAttested(core, ctx, tokenHash, device, attestation, audit),
          );
          return;
        }
        const outcome = await store.enrolDevice(sha256Digest(token).toString('hex'), device, ctx.now, audit);
        core.metrics.enrolments.inc({ outcome: outcome.ok ? 'ok' : outcome.reason });
        if (!outcome.ok) {
          const status = ENROLMENT_STATUS[outcome.reason];
          await refuse(
            core,
            ctx,
            { actor: 'enrolment', action: 'enrol', deviceId },
            status,
            outcome.reason,
            `enrolment refused: ${outcome.reason.replaceAll('_', ' ')}`,
          );
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
      // One commit per release: the nonce is used in the release's own (DeferredNonce).
      deferNonce: true,
      handler: (ctx) => withDeferredNonce(core, ctx, (nonce) => releaseKey(core, ctx, nonce)),
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
 * The nonce of a request that authentication left unused (route `deferNonce`). `use()` uses it now
 * — a nonce used already is a replay (`401 replayed`); `forRelease` hands it to `recordRelease`,
 * which uses it in the release's commit.
 */
class DeferredNonce {
  used = false;
  readonly #core: BrokerCore;
  readonly #ctx: RequestContext;

  constructor(core: BrokerCore, ctx: RequestContext) {
    this.#core = core;
    this.#ctx = ctx;
  }

  get forRelease(): { nonce: string; expiresAt: number } {
    return { nonce: this.#ctx.nonce!, expiresAt: this.#ctx.nonceExpiresAt! };
  }

  async use(): Promise<void> {
    if (this.used) return;
    this.used = true;
    if (!(await this.#core.store.useNonce(this.#ctx.nonce!, this.#ctx.device!.id, this.#ctx.nonceExpiresAt!)))
      throw replayed(this.#ctx.device!.id);
  }
}

/**
 * Runs a handler that uses its request's nonce itself: on the path that writes, in that write's
 * commit; on every other path before anything is written or answered (`use()` first) — and
 * whatever way the handler fails, the nonce is used before the failure is answered, so a replay of
 * any request is refused as one.
 */
async function withDeferredNonce(core: BrokerCore, ctx: RequestContext, handler: (nonce: DeferredNonce) => Promise<void>): Promise<void> {
  const nonce = new DeferredNonce(core, ctx);
  try {
    await handler(nonce);
  } catch (error) {
    await nonce.use();
    throw error;
  }
  await nonce.use();
}

/**
 * `POST /v1/models/{id}/key`: authorization (device, model, grant, count), unwrap with the broker's
 * identity, count the release, use the nonce and write the audit record in one transaction,
 * re-wrap to the device's TPM key. The data key never leaves the broker in clear. A `requestId`
 * the device used before (a retry after a lost answer, here or on another broker) is answered
 * again, not counted.
 */
async function releaseKey(core: BrokerCore, ctx: RequestContext, nonce: DeferredNonce): Promise<void> {
  const device = ctx.device!;
  const modelId = ctx.params['id']!;
  const body = parseJsonObject(ctx.body);
  const requestId = optionalString(body, 'requestId', REQUEST_ID_PATTERN);
  const audit = { actor: `device:${device.id}`, action: 'key_release', deviceId: device.id, modelId };
  const refuseRelease = async (status: number, reason: string, message: string, grantId?: string) => {
    await nonce.use();
    core.metrics.refusals.inc({ reason });
    return refuse(core, ctx, { ...audit, ...(grantId ? { grantId } : {}) }, status, reason, message);
  };
  if (device.revokedAt !== null) await refuseRelease(403, 'device_revoked', 'this device is revoked');
  // Independent reads at once (on PostgreSQL, as many connections: one round trip of latency).
  const [model, grants, earlier, attestation, policies] = await Promise.all([
    core.store.getModel(modelId),
    core.store.grantsForDevice(device),
    requestId === undefined ? undefined : core.store.findReleaseRequest(device.id, requestId),
    core.store.getAttestation(device.id),
    core.store.pcrPoliciesForDevice(device),
  ]);
  if (!model) await refuseRelease(404, 'unknown_model', 'no such model');
  if (model!.notAfter !== null && model!.notAfter <= ctx.now)
    await refuseRelease(403, 'model_expired', 'the model is past its not-after date');
  const wait = core.deviceLimiter?.take(device.id) ?? 0;
  if (wait > 0) throw new HttpError(429, 'rate_limited', 'too many key requests from this device', { 'retry-after': String(wait) });
  let grant: GrantRecord;
  if (earlier) {
    if (earlier.modelId !== modelId) throw new HttpError(409, 'request_id_reused', 'this request id was used for another model');
    const counted = await core.store.getGrant(earlier.grantId);
    // Counted already: only a grant revoked or expired since stops it.
    if (!counted || !isActive(counted, ctx.now))
      await refuseRelease(
        403,
        counted?.revokedAt ? 'grant_revoked' : 'grant_expired',
        'key release refused: the grant ended',
        earlier.grantId,
      );
    grant = counted!;
  } else {
    const picked = pickGrant(grants, model!, ctx.now);
    if ('reason' in picked) await refuseRelease(403, picked.reason, `key release refused: ${picked.reason.replaceAll('_', ' ')}`);
    grant = (picked as { grant: GrantRecord }).grant;
  }
  // The attestation check records the quote: an attesting device's nonce is used before it (a
  // replayed quote writes nothing). A repeated request carries a fresh quote too.
  if (attestation) await nonce.use();
  const attested = await withAuditedRefusal(core, ctx, { ...audit, grantId: grant.id }, () =>
    checkReleaseAttestation(core.store, core.attestation, device, body, ctx.nonce!, ctx.now, { record: attestation, policies }),
  );

  // Unwrapped from the registered header (key commitment and MAC checked) and re-wrapped to this
  // device's key inside @ovseal/container: the data key never reaches this code.
  let stanza: Stanza;
  try {
    stanza = await core.modelKeys.rewrapFor(model!, core.recipients.for(device));
  } catch (error) {
    await nonce.use();
    core.logger.error('unwrap_failed', { model: modelId, code: (error as { code?: string }).code ?? 'unknown' });
    core.metrics.refusals.inc({ reason: 'key_unavailable' });
    await core.store.appendAudit({
      ...audit,
      grantId: grant.id,
      at: ctx.now,
      outcome: 'error',
      reason: 'key_unavailable',
      remote: ctx.remote,
    });
    throw new HttpError(503, 'key_unavailable', 'the broker cannot unwrap this model key right now; retry later', { 'retry-after': '5' });
  }
  let counted: GrantRecord;
  let repeated = earlier !== undefined;
  if (!repeated) {
    const releaseAudit = {
      ...audit,
      grantId: grant.id,
      at: ctx.now,
      outcome: 'ok' as const,
      reason: attested ? 'attested' : null,
      remote: ctx.remote,
    };
    const recorded = await core.store.recordRelease(grant.id, device.id, ctx.now, releaseAudit, {
      ...(requestId ? { requestId } : {}),
      ...(nonce.used ? {} : { nonce: nonce.forRelease }),
    });
    if (!recorded.ok && recorded.reason === 'replayed') {
      nonce.used = true;
      throw replayed(device.id);
    }
    if (!recorded.ok) await refuseRelease(403, recorded.reason, `key release refused: ${recorded.reason.replaceAll('_', ' ')}`, grant.id);
    nonce.used = true; // in the release's commit (counted or repeated)
    ({ grant: counted } = recorded as { ok: true; grant: GrantRecord });
    repeated = (recorded as { repeated?: boolean }).repeated === true;
  } else {
    await nonce.use();
    counted = grant;
  }
  if (repeated) {
    await core.store.appendAudit({
      ...audit,
      action: 'key_release_repeat',
      grantId: grant.id,
      at: ctx.now,
      outcome: 'ok',
      reason: 'request already counted',
      remote: ctx.remote,
    });
  }
  core.metrics.releases.inc({ kind: repeated ? 'repeated' : 'counted' });
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
