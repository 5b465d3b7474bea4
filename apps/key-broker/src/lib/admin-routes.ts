import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { BrokerStore, GrantSubject } from '../store.js';
import type { BrokerCore } from './broker-core.js';
import { parseDevicePublicKey } from './device-keys.js';
import { DEVICE_ID_PATTERN_PATTERN } from './enrolment.js';
import {
  HttpError,
  ID_PATTERN,
  LABEL_PATTERN,
  optionalBoolean,
  optionalString,
  parseJsonObject,
  readBody,
  requirePositiveInteger,
  requireString,
  sendJson,
  stringList,
  timeField,
  VERSION_PATTERN,
} from './http.js';
import { registerModel } from './model-registry.js';
import type { RequestContext, Route } from './router.js';
import { auditView, deviceView, enrolmentTokenView, grantView, modelView } from './views.js';

export function sha256Digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Bearer token check in constant time (digests compared, so the length leaks nothing either). */
function bearerMatches(digest: Buffer | undefined, authorization: string | undefined): boolean {
  const match = /^Bearer (\S+)$/.exec(authorization ?? '');
  return match !== null && digest !== undefined && timingSafeEqual(sha256Digest(match[1]!), digest);
}

export function isAdmin(core: BrokerCore, authorization: string | undefined): boolean {
  return bearerMatches(core.adminTokenDigest, authorization);
}

/** The metrics token (read-only access to `/metrics`). */
export function isMetricsReader(core: BrokerCore, authorization: string | undefined): boolean {
  return bearerMatches(core.metricsTokenDigest, authorization);
}

async function audited(
  core: BrokerCore,
  ctx: RequestContext,
  action: string,
  fields: { deviceId?: string; modelId?: string; grantId?: string; reason?: string },
) {
  await core.store.appendAudit({ at: ctx.now, actor: 'admin', action, outcome: 'ok', remote: ctx.remote, ...fields });
}

async function jsonBody(core: BrokerCore, ctx: RequestContext) {
  return parseJsonObject(await readBody(ctx.req, core.limits.jsonBytes));
}

/**
 * A grant names a label, or a registered device — bound to the key it has now, so that whoever
 * enrols another key under that id later gets nothing.
 */
async function grantSubject(store: BrokerStore, body: Record<string, unknown>): Promise<GrantSubject> {
  const deviceId = optionalString(body, 'device', ID_PATTERN);
  const label = optionalString(body, 'label', LABEL_PATTERN);
  if ((deviceId === undefined) === (label === undefined))
    throw new HttpError(400, 'bad_request', 'a grant names exactly one of "device" or "label"');
  if (label !== undefined) return { kind: 'label', value: label };
  const device = await store.getDevice(deviceId!);
  if (!device)
    throw new HttpError(404, 'unknown_device', `no device ${deviceId}: register it (or let it enrol) before granting it anything`);
  if (device.revokedAt !== null) throw new HttpError(403, 'device_revoked', `device ${deviceId} is revoked`);
  return { kind: 'device', value: device.id, keyId: device.keyId };
}

/** Who an enrolment token may enrol: any id, one id, or ids matching a pattern (`*`: any run of id characters). */
function tokenDeviceIds(body: Record<string, unknown>): { deviceId: string | null; deviceIdPattern: string | null } {
  const deviceId = optionalString(body, 'deviceId', ID_PATTERN) ?? null;
  const deviceIdPattern = optionalString(body, 'deviceIdPattern', DEVICE_ID_PATTERN_PATTERN) ?? null;
  if (deviceId !== null && deviceIdPattern !== null)
    throw new HttpError(400, 'bad_request', 'give "deviceId" or "deviceIdPattern", not both');
  return { deviceId, deviceIdPattern };
}

/** The admin API (bearer token): models, devices, grants, enrolment tokens, audit log. */
export function adminRoutes(core: BrokerCore): Route[] {
  const store: BrokerStore = core.store;
  return [
    {
      method: 'POST',
      path: '/v1/admin/models',
      auth: 'admin',
      async handler(ctx) {
        const url = ctx.url.searchParams.get('url') ?? undefined;
        if (url !== undefined && !/^https?:\/\//.test(url)) throw new HttpError(400, 'bad_request', 'url must be http(s)');
        const record = await registerModel(ctx.req, {
          identities: core.identities,
          trust: core.trust,
          containersDir: join(core.dataDir, 'containers'),
          maxBytes: core.limits.containerBytes,
          externalUrl: url,
          now: ctx.now,
          isRegistered: async (id) => (await store.getModel(id)) !== undefined,
        });
        await store.insertModel(record);
        await audited(core, ctx, 'register_model', { modelId: record.id });
        core.logger.info('model_registered', { model: record.id, size: record.size, storage: record.storage.kind });
        sendJson(ctx.res, 201, modelView(record));
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/models',
      auth: 'admin',
      async handler(ctx) {
        sendJson(ctx.res, 200, { models: (await store.listModels()).map(modelView) });
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/models/:id',
      auth: 'admin',
      async handler(ctx) {
        const model = await store.getModel(ctx.params['id']!);
        if (!model) throw new HttpError(404, 'unknown_model', 'no such model');
        sendJson(ctx.res, 200, modelView(model));
      },
    },
    {
      method: 'POST',
      path: '/v1/admin/devices',
      auth: 'admin',
      async handler(ctx) {
        const body = await jsonBody(core, ctx);
        const id = requireString(body, 'id', ID_PATTERN);
        const key = parseDevicePublicKey(requireString(body, 'publicKeyPem'), optionalString(body, 'keyType'));
        const device = {
          id,
          keyType: key.keyType,
          publicKeyPem: key.publicKeyPem,
          keyId: key.keyId,
          labels: stringList(body, 'labels', LABEL_PATTERN),
          registeredAt: ctx.now,
          revokedAt: null,
          revokedReason: null,
        };
        if (await store.isKeyRevoked(key.keyId))
          throw new HttpError(403, 'key_revoked', `key ${key.keyId} belonged to a revoked device: it cannot be registered again`);
        if (await store.getDevice(id)) throw new HttpError(409, 'device_exists', `device ${id} exists`);
        await store.insertDevice(device);
        await audited(core, ctx, 'register_device', { deviceId: id });
        sendJson(ctx.res, 201, deviceView(device));
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/devices',
      auth: 'admin',
      async handler(ctx) {
        sendJson(ctx.res, 200, { devices: (await store.listDevices()).map(deviceView) });
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/devices/:id',
      auth: 'admin',
      async handler(ctx) {
        const device = await store.getDevice(ctx.params['id']!);
        if (!device) throw new HttpError(404, 'unknown_device', 'no such device');
        sendJson(ctx.res, 200, deviceView(device));
      },
    },
    {
      method: 'POST',
      path: '/v1/admin/devices/:id/revoke',
      auth: 'admin',
      async handler(ctx) {
        const body = await jsonBody(core, ctx);
        const reason = (optionalString(body, 'reason') ?? 'revoked by admin').slice(0, 200);
        const id = ctx.params['id']!;
        // The key goes with the device: it can never register or enrol again, under any id.
        const revoked = await store.revokeDevice(id, ctx.now, reason);
        if (!revoked) throw new HttpError(404, 'unknown_device', 'no such device');
        await audited(core, ctx, 'revoke_device', { deviceId: id, reason: `${reason} (key ${revoked.keyId} revoked)` });
        sendJson(ctx.res, 200, deviceView(revoked));
      },
    },
    {
      method: 'POST',
      path: '/v1/admin/grants',
      auth: 'admin',
      async handler(ctx) {
        const body = await jsonBody(core, ctx);
        const perDevice =
          body['maxReleasesPerDevice'] === undefined || body['maxReleasesPerDevice'] === null
            ? null
            : requirePositiveInteger(body, 'maxReleasesPerDevice');
        const grant = {
          id: `g-${randomUUID()}`,
          subject: await grantSubject(store, body),
          modelName: requireString(body, 'model', ID_PATTERN),
          modelVersion: optionalString(body, 'version', VERSION_PATTERN) ?? null,
          notAfter: timeField(body, 'notAfter', ctx.now),
          maxReleases: requirePositiveInteger(body, 'maxReleases'),
          releases: 0,
          maxReleasesPerDevice: perDevice,
          createdAt: ctx.now,
          revokedAt: null,
        };
        await store.insertGrant(grant);
        await audited(core, ctx, 'create_grant', {
          grantId: grant.id,
          ...(grant.subject.kind === 'device' ? { deviceId: grant.subject.value } : {}),
          modelId: grant.modelVersion ? `${grant.modelName}@${grant.modelVersion}` : grant.modelName,
        });
        sendJson(ctx.res, 201, grantView(grant));
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/grants',
      auth: 'admin',
      async handler(ctx) {
        sendJson(ctx.res, 200, { grants: (await store.listGrants()).map(grantView) });
      },
    },
    {
      method: 'POST',
      path: '/v1/admin/grants/:id/revoke',
      auth: 'admin',
      async handler(ctx) {
        const id = ctx.params['id']!;
        if (!(await store.revokeGrant(id, ctx.now))) throw new HttpError(404, 'unknown_grant', 'no such grant');
        await audited(core, ctx, 'revoke_grant', { grantId: id });
        sendJson(ctx.res, 200, grantView((await store.getGrant(id))!));
      },
    },
    {
      method: 'POST',
      path: '/v1/admin/enrolment-tokens',
      auth: 'admin',
      async handler(ctx) {
        const body = await jsonBody(core, ctx);
        const token = `ovs_enrol_${randomBytes(24).toString('base64url')}`;
        const record = {
          id: `e-${randomUUID()}`,
          tokenHash: sha256Digest(token).toString('hex'),
          labels: stringList(body, 'labels', LABEL_PATTERN),
          expiresAt: timeField(body, 'expiresAt', ctx.now, 3600),
          maxUses: requirePositiveInteger(body, 'maxUses', 1),
          uses: 0,
          ...tokenDeviceIds(body),
          requireAttestation: optionalBoolean(body, 'requireAttestation'),
          allowMissingEkCertificate: optionalBoolean(body, 'allowMissingEkCertificate'),
          createdAt: ctx.now,
          revokedAt: null,
        };
        await store.insertEnrolmentToken(record);
        // Devices enrolled under a token that allows a missing EK certificate are taken on trust: the flag is audited here and at each such enrolment.
        const flags = [
          record.requireAttestation && 'requireAttestation',
          record.allowMissingEkCertificate && 'allowMissingEkCertificate',
        ].filter(Boolean);
        await audited(core, ctx, 'create_enrolment_token', { reason: flags.length > 0 ? `${record.id} (${flags.join(', ')})` : record.id });
        // The token is shown once; only its hash is kept.
        sendJson(ctx.res, 201, { ...enrolmentTokenView(record), token });
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/enrolment-tokens',
      auth: 'admin',
      async handler(ctx) {
        sendJson(ctx.res, 200, { tokens: (await store.listEnrolmentTokens()).map(enrolmentTokenView) });
      },
    },
    {
      method: 'POST',
      path: '/v1/admin/enrolment-tokens/:id/revoke',
      auth: 'admin',
      async handler(ctx) {
        const id = ctx.params['id']!;
        if (!(await store.revokeEnrolmentToken(id, ctx.now))) throw new HttpError(404, 'unknown_token', 'no such enrolment token');
        await audited(core, ctx, 'revoke_enrolment_token', { reason: id });
        sendJson(ctx.res, 200, enrolmentTokenView((await store.listEnrolmentTokens()).find((token) => token.id === id)!));
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/audit',
      auth: 'admin',
      async handler(ctx) {
        const after = Number(ctx.url.searchParams.get('after') ?? 0);
        const limit = Math.min(1000, Math.max(1, Number(ctx.url.searchParams.get('limit') ?? 100)));
        const deviceId = ctx.url.searchParams.get('device') ?? undefined;
        if (!Number.isSafeInteger(after) || !Number.isSafeInteger(limit))
          throw new HttpError(400, 'bad_request', 'after and limit are integers');
        const records = await store.listAudit({ after, limit, ...(deviceId ? { deviceId } : {}) });
        sendJson(ctx.res, 200, { records: records.map(auditView), next: records.at(-1)?.id ?? after });
      },
    },
  ];
}
