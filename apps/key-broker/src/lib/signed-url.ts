import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Container download URLs a device receives in its model list: capability URLs bound to the model,
 * the device and an expiry, MACed with a server secret. They let a download resume (HTTP Range)
 * without a TPM proof per request; the bytes are ciphertext anyway.
 */
export class UrlSigner {
  readonly #secret: Uint8Array;
  constructor(secret: Uint8Array) {
    this.#secret = secret;
  }

  #mac(modelId: string, deviceId: string, expires: number): Buffer {
    return createHmac('sha256', this.#secret).update(`ovseal-broker/v1 container\n${modelId}\n${deviceId}\n${expires}`).digest();
  }

  sign(base: string, modelId: string, deviceId: string, expires: number): string {
    const query = new URLSearchParams({
      device: deviceId,
      exp: String(expires),
      sig: this.#mac(modelId, deviceId, expires).toString('base64url'),
    });
    return `${base}/v1/containers/${encodeURIComponent(modelId)}?${query.toString()}`;
  }

  /** The device the URL was made for, or undefined if the signature or expiry is wrong. */
  verify(modelId: string, query: URLSearchParams, nowSeconds: number): string | undefined {
    const deviceId = query.get('device');
    const expires = Number(query.get('exp'));
    const sig = Buffer.from(query.get('sig') ?? '', 'base64url');
    if (!deviceId || !Number.isSafeInteger(expires) || expires < nowSeconds) return undefined;
    const expected = this.#mac(modelId, deviceId, expires);
    return sig.length === expected.length && timingSafeEqual(sig, expected) ? deviceId : undefined;
  }
}
