import { DEVICE_AUTH_SCHEME } from './canonical-request.js';

/** The fields of an `Ovseal-Device` authorization, as sent. */
export interface DeviceAuthorization {
  readonly deviceId: string;
  readonly nonce: string;
  readonly timestamp: number;
  readonly proof: Buffer;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Reads the header {@link signDeviceRequest} writes. `undefined` when it is not an `Ovseal-Device`
 * authorization at all, `'malformed'` when one of device, nonce, ts or proof is missing or bad. The
 * proof is not checked here: that needs the broker's secret.
 *
 * @example
 * ```ts
 * const auth = parseDeviceAuthorization(req.headers.authorization);
 * if (auth === undefined || auth === 'malformed') return refuse();
 * ```
 */
export function parseDeviceAuthorization(header: string | undefined): DeviceAuthorization | 'malformed' | undefined {
  if (!header || !header.startsWith(`${DEVICE_AUTH_SCHEME} `)) return undefined;
  const params = new Map<string, string>();
  for (const part of header.slice(DEVICE_AUTH_SCHEME.length + 1).split(',')) {
    const [name, ...rest] = part.trim().split('=');
    if (name && rest.length > 0) params.set(name, rest.join('='));
  }
  const deviceId = decodeOrUndefined(params.get('device'));
  const nonce = params.get('nonce');
  const timestamp = Number(params.get('ts'));
  const proof = params.get('proof');
  if (!deviceId || !nonce || !BASE64URL.test(nonce) || !Number.isSafeInteger(timestamp) || !proof || !BASE64URL.test(proof))
    return 'malformed';
  return { deviceId, nonce, timestamp, proof: Buffer.from(proof, 'base64url') };
}

function decodeOrUndefined(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
