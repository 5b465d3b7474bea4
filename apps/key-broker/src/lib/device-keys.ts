import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Recipient } from '@ovseal/container';
import { TpmEcdhRecipient, TpmRsaRecipient, deviceKeyId, type DeviceKeyType } from '@ovseal/key-tpm';
import { HttpError } from './http.js';
import type { DeviceRecord } from '../store.js';

/**
 * Parses a device public key sent to the broker. Only SPKI PEM text is accepted, parsed here: the
 * text never reaches a helper that would also read file paths.
 */
export function parseDevicePublicKey(
  pem: string,
  declaredType?: string,
): { keyType: DeviceKeyType; publicKeyPem: string; keyId: string; key: KeyObject } {
  if (!/^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\s*$/.test(pem)) {
    throw new HttpError(400, 'bad_public_key', 'publicKeyPem must be an SPKI PEM ("-----BEGIN PUBLIC KEY-----")');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new HttpError(400, 'bad_public_key', 'publicKeyPem does not parse');
  }
  const details = key.asymmetricKeyDetails;
  let keyType: DeviceKeyType;
  if (key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1') keyType = 'tpm-ecdh';
  else if (key.asymmetricKeyType === 'rsa' && (details?.modulusLength ?? 0) >= 2048) keyType = 'tpm-rsa';
  else throw new HttpError(400, 'bad_public_key', 'a device key is EC P-256 (tpm-ecdh) or RSA of 2048 bits or more (tpm-rsa)');
  if (declaredType !== undefined && declaredType !== keyType)
    throw new HttpError(400, 'bad_public_key', `the key is a ${keyType} key, not ${declaredType}`);
  const publicKeyPem = key.export({ type: 'spki', format: 'pem' }).toString();
  return { keyType, publicKeyPem, keyId: deviceKeyId(key), key };
}

/** Recipients for device keys, parsed once per key (an LRU of bounded size). */
export class DeviceRecipients {
  readonly #cache = new Map<string, Recipient>();
  readonly #max: number;

  constructor(max = 4096) {
    this.#max = max;
  }

  for(device: DeviceRecord): Recipient {
    const cacheKey = `${device.id}\n${device.keyId}`;
    let recipient = this.#cache.get(cacheKey);
    if (recipient === undefined) {
      const key = createPublicKey(device.publicKeyPem);
      recipient = device.keyType === 'tpm-ecdh' ? new TpmEcdhRecipient(key) : new TpmRsaRecipient(key);
      if (this.#cache.size >= this.#max) this.#cache.delete(this.#cache.keys().next().value!);
    } else {
      this.#cache.delete(cacheKey);
    }
    this.#cache.set(cacheKey, recipient);
    return recipient;
  }
}
