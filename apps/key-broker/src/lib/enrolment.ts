import type { EnrolmentTokenRecord } from '../store.js';

/** What an enrolment token's `deviceIdPattern` may look like: id characters and `*`. */
export const DEVICE_ID_PATTERN_PATTERN = /^[A-Za-z0-9*][A-Za-z0-9._:*-]{0,127}$/;

/**
 * Whether an enrolment token allows this device id: any id, its one id, or ids matching its
 * pattern (`*` matches any run of id characters). Shared by every store implementation.
 */
export function tokenAllows(token: Pick<EnrolmentTokenRecord, 'deviceId' | 'deviceIdPattern'>, deviceId: string): boolean {
  if (token.deviceId !== null && token.deviceId !== deviceId) return false;
  if (token.deviceIdPattern === null) return true;
  const pattern = token.deviceIdPattern.split('*').map((part) => part.replaceAll('.', '\\.')).join('[A-Za-z0-9._:-]*');
  return new RegExp(`^${pattern}$`).test(deviceId);
}
