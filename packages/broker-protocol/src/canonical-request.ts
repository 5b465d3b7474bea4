import { createHash, createHmac } from 'node:crypto';

/** The authorization scheme of device requests. */
export const DEVICE_AUTH_SCHEME = 'Ovseal-Device';

/** What a device proof covers. */
export interface DeviceRequestFields {
  readonly method: string;
  /** Path and query, exactly as sent (`/v1/models/det%404.0.0/key`). */
  readonly path: string;
  readonly deviceId: string;
  readonly nonce: string;
  /** Milliseconds since the epoch, when the device signed. */
  readonly timestamp: number;
  readonly body: Uint8Array;
}

/**
 * HMAC-SHA-256 under the challenge secret over every part of the request: method, path, device,
 * nonce, time and body digest. Shared by the device (signs) and the broker (verifies).
 *
 * @example
 * ```ts
 * const proof = deviceRequestProof(secret, { method: 'POST', path, deviceId, nonce, timestamp: Date.now(), body });
 * ```
 */
export function deviceRequestProof(secret: Uint8Array, fields: DeviceRequestFields): Buffer {
  const bodyDigest = createHash('sha256').update(fields.body).digest('hex');
  const canonical = [
    'ovseal-broker/v1 request',
    fields.method.toUpperCase(),
    fields.path,
    fields.deviceId,
    fields.nonce,
    String(fields.timestamp),
    bodyDigest,
  ].join('\n');
  return createHmac('sha256', secret).update(canonical).digest();
}
