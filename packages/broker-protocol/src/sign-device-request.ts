import { DEVICE_AUTH_SCHEME, deviceRequestProof, type DeviceRequestFields } from './canonical-request.js';

/**
 * The `Authorization` header of a device request: the proof that the sender unwrapped the
 * challenge with its TPM key, bound to this exact request and a single-use nonce.
 *
 * @example
 * ```ts
 * const body = Buffer.from('{}');
 * const authorization = signDeviceRequest(secret, { method: 'POST', path: '/v1/models/det%404/key', deviceId, nonce, timestamp: Date.now(), body });
 * await fetch(broker + path, { method: 'POST', body, headers: { authorization } });
 * ```
 */
export function signDeviceRequest(secret: Uint8Array, fields: DeviceRequestFields): string {
  const proof = deviceRequestProof(secret, fields).toString('base64url');
  const params = { device: encodeURIComponent(fields.deviceId), nonce: fields.nonce, ts: String(fields.timestamp), proof };
  return `${DEVICE_AUTH_SCHEME} ${Object.entries(params)
    .map(([key, value]) => `${key}=${value}`)
    .join(', ')}`;
}
