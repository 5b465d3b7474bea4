import type { DeviceRecord, GrantRecord, ModelRecord } from '../store.js';

/** Why a key release is refused. */
export type RefusalReason = 'not_granted' | 'grant_revoked' | 'grant_expired' | 'releases_exhausted' | 'device_releases_exhausted';

export function covers(grant: GrantRecord, model: Pick<ModelRecord, 'name' | 'version'>): boolean {
  return grant.modelName === model.name && (grant.modelVersion === null || grant.modelVersion === model.version);
}

export function subjectMatches(grant: GrantRecord, device: DeviceRecord): boolean {
  return grant.subject.kind === 'device'
    ? grant.subject.value === device.id && grant.subject.keyId === device.keyId
    : device.labels.includes(grant.subject.value);
}

/** Active: not revoked and not past its not-after (releases may be used up: the device keeps its cached key). */
export function isActive(grant: GrantRecord, now: number): boolean {
  return grant.revokedAt === null && grant.notAfter > now;
}

/**
 * The grant a release is counted against — the usable one that lasts longest — or the reason none
 * is usable, most telling first.
 */
export function pickGrant(
  grants: readonly GrantRecord[],
  model: ModelRecord,
  now: number,
): { grant: GrantRecord } | { reason: RefusalReason } {
  const covering = grants.filter((grant) => covers(grant, model));
  if (covering.length === 0) return { reason: 'not_granted' };
  const withShared = covering.filter((grant) => isActive(grant, now) && grant.releases < grant.maxReleases);
  const usable = withShared.filter(
    (grant) => grant.maxReleasesPerDevice === null || (grant.deviceReleases ?? 0) < grant.maxReleasesPerDevice,
  );
  if (usable.length > 0) return { grant: usable.reduce((best, grant) => (grant.notAfter > best.notAfter ? grant : best)) };
  if (withShared.length > 0) return { reason: 'device_releases_exhausted' };
  if (covering.some((grant) => isActive(grant, now))) return { reason: 'releases_exhausted' };
  if (covering.every((grant) => grant.revokedAt !== null)) return { reason: 'grant_revoked' };
  return { reason: 'grant_expired' };
}

/** For each model name a device may run, the latest registered version its active grants cover. */
export function grantedModels(
  grants: readonly GrantRecord[],
  models: readonly ModelRecord[],
  now: number,
): { model: ModelRecord; grants: GrantRecord[] }[] {
  const active = grants.filter((grant) => isActive(grant, now));
  const latest = new Map<string, { model: ModelRecord; grants: GrantRecord[] }>();
  for (const model of models) {
    if (model.notAfter !== null && model.notAfter <= now) continue;
    const coveringGrants = active.filter((grant) => covers(grant, model));
    if (coveringGrants.length === 0) continue;
    const current = latest.get(model.name);
    if (!current || model.registeredAt >= current.model.registeredAt) latest.set(model.name, { model, grants: coveringGrants });
  }
  return [...latest.values()];
}
