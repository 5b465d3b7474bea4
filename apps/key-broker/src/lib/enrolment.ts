import type { EnrolmentRefusal, EnrolmentTokenRecord } from '../store.js';

/** What an enrolment token's `deviceIdPattern` may look like: id characters and `*`. */
export const DEVICE_ID_PATTERN_PATTERN = /^[A-Za-z0-9*][A-Za-z0-9._:*-]{0,127}$/;

/**
 * Whether an enrolment token allows this device id: any id, its one id, or ids matching its
 * pattern (`*` matches any run of id characters). Shared by every store implementation.
 */
export function tokenAllows(token: Pick<EnrolmentTokenRecord, 'deviceId' | 'deviceIdPattern'>, deviceId: string): boolean {
  if (token.deviceId !== null && token.deviceId !== deviceId) return false;
  if (token.deviceIdPattern === null) return true;
  const pattern = token.deviceIdPattern
    .split('*')
    .map((part) => part.replaceAll('.', '\\.'))
    .join('[A-Za-z0-9._:-]*');
  return new RegExp(`^${pattern}$`).test(deviceId);
}

/** The HTTP status of each enrolment refusal. */
export const ENROLMENT_STATUS: Record<EnrolmentRefusal, number> = {
  invalid_token: 401,
  token_expired: 401,
  token_used_up: 401,
  token_revoked: 401,
  device_id_not_allowed: 403,
  key_revoked: 403,
  attestation_required: 403,
  device_exists: 409,
  key_registered: 409,
  ek_registered: 409,
};
