import { randomUUID } from 'node:crypto';
import { formatPcrSelection, parsePcrSelection, type PcrSelection } from '@ovseal/key-tpm';
import type { BrokerStore, DeviceRecord, PcrPolicyRecord, PcrValuesRecord, QuoteRecord, TofuMode } from '../../store.js';
import type { BrokerCore } from '../broker-core.js';
import { HttpError, ID_PATTERN, LABEL_PATTERN, optionalString, parseJsonObject, readBody, requireString, sendJson } from '../http.js';
import type { RequestContext, Route } from '../router.js';
import { mismatchesOf, restrictTo, checkValueSet } from './pcr-values.js';
import { attestationView, pcrPolicyView } from './views.js';

const DIGEST_BYTES = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 } as const;
const TOFU_MODES: readonly TofuMode[] = ['off', 'first-device', 'each-device'];

async function jsonBody(core: BrokerCore, ctx: RequestContext) {
  return parseJsonObject(await readBody(ctx.req, core.limits.jsonBytes));
}

async function audit(core: BrokerCore, ctx: RequestContext, action: string, fields: { deviceId?: string; reason?: string }) {
  await core.store.appendAudit({ at: ctx.now, actor: 'admin', action, outcome: 'ok', remote: ctx.remote, ...fields });
}

/** A policy's PCRs: one bank, the broker's (quotes cover one bank). */
function policySelection(core: BrokerCore, text: string): PcrSelection {
  let selection: PcrSelection;
  try {
    selection = parsePcrSelection(text);
  } catch {
    throw new HttpError(400, 'bad_request', 'field "pcrs" is a PCR selection like sha256:0,7');
  }
  const bank = parsePcrSelection(core.attestation.defaultPcrs).bank;
  if (selection.bank !== bank) throw new HttpError(400, 'bad_request', `policies check the broker's PCR bank (${bank})`);
  return selection;
}

function valueSet(selection: PcrSelection, values: unknown): Record<string, string> {
  const checked = checkValueSet(selection, values, DIGEST_BYTES[selection.bank]);
  if (typeof checked === 'string') throw new HttpError(400, 'bad_request', checked);
  return checked;
}

function newValues(
  policy: { id: string },
  values: Record<string, string>,
  fields: { deviceId: string | null; source: PcrValuesRecord['source']; note: string | null; at: number },
): PcrValuesRecord {
  return {
    id: `v-${randomUUID()}`,
    policyId: policy.id,
    deviceId: fields.deviceId,
    values,
    source: fields.source,
    note: fields.note,
    addedAt: fields.at,
    removedAt: null,
  };
}

async function policyOr404(store: BrokerStore, id: string): Promise<PcrPolicyRecord> {
  const policy = await store.getPcrPolicy(id);
  if (!policy || policy.removedAt !== null) throw new HttpError(404, 'unknown_pcr_policy', 'no such PCR policy');
  return policy;
}

async function deviceOr404(store: BrokerStore, id: string): Promise<DeviceRecord> {
  const device = await store.getDevice(id);
  if (!device) throw new HttpError(404, 'unknown_device', 'no such device');
  return device;
}

async function createPolicy(core: BrokerCore, ctx: RequestContext): Promise<void> {
  const body = await jsonBody(core, ctx);
  const device = optionalString(body, 'device', ID_PATTERN);
  const label = optionalString(body, 'label', LABEL_PATTERN);
  if ((device === undefined) === (label === undefined))
    throw new HttpError(400, 'bad_request', 'a PCR policy names exactly one of "device" or "label"');
  const selection = policySelection(core, requireString(body, 'pcrs'));
  const tofu = (optionalString(body, 'tofu') ?? 'off') as TofuMode;
  if (!TOFU_MODES.includes(tofu)) throw new HttpError(400, 'bad_request', `field "tofu" is one of ${TOFU_MODES.join(', ')}`);
  const sets = body['values'] ?? [];
  if (!Array.isArray(sets) || sets.length > 64) throw new HttpError(400, 'bad_request', 'field "values" is a list of up to 64 value sets');
  const subject = device ? { kind: 'device' as const, value: device } : { kind: 'label' as const, value: label! };
  const policy = {
    id: `p-${randomUUID()}`,
    subject,
    pcrs: formatPcrSelection(selection),
    tofu,
    note: optionalString(body, 'note')?.slice(0, 200) ?? null,
    createdAt: ctx.now,
    removedAt: null,
  };
  const values = sets.map((set) =>
    newValues(policy, valueSet(selection, set), { deviceId: null, source: 'admin', note: null, at: ctx.now }),
  );
  await core.store.insertPcrPolicy(policy);
  for (const set of values) await core.store.addPcrValues(set);
  await audit(core, ctx, 'create_pcr_policy', {
    ...(device ? { deviceId: device } : {}),
    reason: `${policy.id} ${subject.kind} ${subject.value} ${policy.pcrs} (${values.length} value set(s), tofu ${tofu})`,
  });
  sendJson(ctx.res, 201, pcrPolicyView((await core.store.getPcrPolicy(policy.id))!));
}

async function addValues(core: BrokerCore, ctx: RequestContext): Promise<void> {
  const policy = await policyOr404(core.store, ctx.params['id']!);
  const body = await jsonBody(core, ctx);
  const deviceId = optionalString(body, 'device', ID_PATTERN) ?? null;
  if (deviceId !== null) await deviceOr404(core.store, deviceId);
  const values = newValues(policy, valueSet(parsePcrSelection(policy.pcrs), body['values']), {
    deviceId,
    source: 'admin',
    note: optionalString(body, 'note')?.slice(0, 200) ?? null,
    at: ctx.now,
  });
  await core.store.addPcrValues(values);
  await audit(core, ctx, 'add_pcr_values', { ...(deviceId ? { deviceId } : {}), reason: `${policy.id} ${values.id}` });
  sendJson(ctx.res, 201, pcrPolicyView((await core.store.getPcrPolicy(policy.id))!));
}

/**
 * The values of a device's last refused quote become allowed: for the device alone (`scope:
 * "device"`, the default) or for every device of each policy it failed (`"group"`). A device no
 * policy covered gets a device policy over the quoted PCRs. The quote becomes the device's counters
 * baseline too (after a TPM2_Clear, say).
 */
async function acceptPcrs(core: BrokerCore, ctx: RequestContext): Promise<void> {
  const device = await deviceOr404(core.store, ctx.params['id']!);
  const body = await jsonBody(core, ctx);
  const scope = optionalString(body, 'scope') ?? 'device';
  if (scope !== 'device' && scope !== 'group') throw new HttpError(400, 'bad_request', 'field "scope" is "device" or "group"');
  const record = await core.store.getAttestation(device.id);
  if (!record) throw new HttpError(404, 'not_attested', 'this device enrolled without an attestation key');
  const refused = record.lastRefused;
  if (!refused) throw new HttpError(409, 'nothing_to_accept', 'this device has no refused quote');
  const accepted = await acceptRefusedValues(core, ctx, device, refused, scope);
  await core.store.recordQuote(device.id, refused, 'baseline');
  await audit(core, ctx, 'accept_pcrs', {
    deviceId: device.id,
    reason: `${scope}: ${accepted.join('; ')} (quote of ${new Date(refused.at).toISOString()}, counters ${refused.resetCount}/${refused.restartCount})`,
  });
  sendJson(ctx.res, 200, attestationView((await core.store.getAttestation(device.id))!, await core.store.pcrPoliciesForDevice(device)));
}

async function acceptRefusedValues(
  core: BrokerCore,
  ctx: RequestContext,
  device: DeviceRecord,
  refused: QuoteRecord,
  scope: 'device' | 'group',
): Promise<string[]> {
  const policies = await core.store.pcrPoliciesForDevice(device);
  const fields = {
    deviceId: scope === 'device' ? device.id : null,
    source: 'accepted' as const,
    note: `accepted from the refused quote of ${device.id}`,
    at: ctx.now,
  };
  if (policies.length === 0) {
    if (scope === 'group')
      throw new HttpError(409, 'no_pcr_policy', 'no policy covers this device: accept with scope "device" (a device policy is made)');
    const policy = {
      id: `p-${randomUUID()}`,
      subject: { kind: 'device' as const, value: device.id },
      pcrs: refused.pcrs,
      tofu: 'off' as const,
      note: 'made by accept-pcrs',
      createdAt: ctx.now,
      removedAt: null,
    };
    await core.store.insertPcrPolicy(policy);
    await core.store.addPcrValues(newValues(policy, { ...refused.values }, fields));
    return [`${policy.id} ${refused.pcrs} (new device policy)`];
  }
  const accepted: string[] = [];
  for (const policy of policies) {
    const selection = parsePcrSelection(policy.pcrs);
    const values = restrictTo(refused.values, selection);
    if (Object.values(values).includes('') || mismatchesOf([policy], refused.values).length === 0) continue;
    await core.store.addPcrValues(newValues(policy, values, fields));
    accepted.push(`${policy.id} ${policy.pcrs}`);
  }
  return accepted.length > 0 ? accepted : ['no policy needed new values (counters baseline only)'];
}

/** Admin API of attestation: PCR policies and their allowed values, a device's attestation, accepting new values. */
export function attestationAdminRoutes(core: BrokerCore): Route[] {
  const store = core.store;
  return [
    { method: 'POST', path: '/v1/admin/pcr-policies', auth: 'admin', handler: (ctx) => createPolicy(core, ctx) },
    {
      method: 'GET',
      path: '/v1/admin/pcr-policies',
      auth: 'admin',
      async handler(ctx) {
        sendJson(ctx.res, 200, { policies: (await store.listPcrPolicies()).map(pcrPolicyView) });
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/pcr-policies/:id',
      auth: 'admin',
      async handler(ctx) {
        sendJson(ctx.res, 200, pcrPolicyView(await policyOr404(store, ctx.params['id']!)));
      },
    },
    {
      method: 'POST',
      path: '/v1/admin/pcr-policies/:id/remove',
      auth: 'admin',
      async handler(ctx) {
        const policy = await policyOr404(store, ctx.params['id']!);
        await store.removePcrPolicy(policy.id, ctx.now);
        await audit(core, ctx, 'remove_pcr_policy', { reason: policy.id });
        sendJson(ctx.res, 200, pcrPolicyView((await store.getPcrPolicy(policy.id))!));
      },
    },
    { method: 'POST', path: '/v1/admin/pcr-policies/:id/values', auth: 'admin', handler: (ctx) => addValues(core, ctx) },
    {
      method: 'POST',
      path: '/v1/admin/pcr-policies/:id/values/:valuesId/remove',
      auth: 'admin',
      async handler(ctx) {
        const policy = await policyOr404(store, ctx.params['id']!);
        if (!(await store.removePcrValues(policy.id, ctx.params['valuesId']!, ctx.now)))
          throw new HttpError(404, 'unknown_pcr_values', 'no such value set in this policy');
        await audit(core, ctx, 'remove_pcr_values', { reason: `${policy.id} ${ctx.params['valuesId']}` });
        sendJson(ctx.res, 200, pcrPolicyView((await store.getPcrPolicy(policy.id))!));
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/devices/:id/attestation',
      auth: 'admin',
      async handler(ctx) {
        const device = await deviceOr404(store, ctx.params['id']!);
        const record = await store.getAttestation(device.id);
        if (!record) throw new HttpError(404, 'not_attested', 'this device enrolled without an attestation key');
        sendJson(ctx.res, 200, attestationView(record, await store.pcrPoliciesForDevice(device)));
      },
    },
    { method: 'POST', path: '/v1/admin/devices/:id/accept-pcrs', auth: 'admin', handler: (ctx) => acceptPcrs(core, ctx) },
  ];
}
