import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, createDecipheriv, type KeyObject } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { AuthenticationFailedError, type Identity, type Stanza, type WrapContext } from '@ovseal/container';
import { EdgeRunnerError } from './errors.js';

// The `tpm-ecdh` stanza, as @ovseal/key-tpm writes it (its README; cross-checked by this app's tests
// against TpmEcdhRecipient): body = ephemeral P-256 point (65, uncompressed) ‖ AES-256-GCM(k, zero
// nonce, data key, aad = ctx.aad) ‖ tag; k = HKDF-SHA-256(ECDH x, salt = ephemeral ‖ device point,
// info "ovseal/v1 tpm-ecdh").
const STANZA_TYPE = 'tpm-ecdh';
const INFO = 'ovseal/v1 tpm-ecdh';
const POINT = 65;
const TAG = 16;

function pointOf(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

function publicKeyOfPoint(point: Uint8Array): KeyObject | null {
  if (point.length !== POINT || point[0] !== 4) return null;
  try {
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(point.subarray(1, 33)).toString('base64url'), y: Buffer.from(point.subarray(33)).toString('base64url') }, format: 'jwk' });
  } catch {
    return null;
  }
}

/**
 * A device key in a file, for machines without a TPM (the demo's fallback, development). It answers
 * the same `tpm-ecdh` stanzas a TPM device key does, so the broker treats it like one — but the
 * private key is only as safe as the file (mode 0600, refused when group/world-readable): a copy of
 * the file is a copy of the device. Never use it where a TPM exists.
 *
 * @example
 * ```ts
 * const key = await FileDeviceKey.generate('/var/lib/ovseal-edge/device-key.pem');
 * console.log(key.publicKeyPem); // register this with the broker
 * ```
 */
export class FileDeviceKey implements Identity {
  readonly keyType = 'tpm-ecdh' as const;
  /** Hex SHA-256 of the SPKI DER, as written in stanzas. */
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly #privateKey: KeyObject;
  readonly #point: Buffer;

  private constructor(privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new EdgeRunnerError('ERR_DEVICE_KEY', 'a file device key is an EC P-256 private key');
    }
    this.#privateKey = privateKey;
    const publicKey = createPublicKey(privateKey);
    this.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.keyId = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    this.#point = pointOf(publicKey);
  }

  /** Creates a new P-256 key in `path` (mode 0600; refuses to overwrite). */
  static async generate(path: string): Promise<FileDeviceKey> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
    } catch (cause) {
      throw new EdgeRunnerError('ERR_DEVICE_KEY', `cannot create the device key ${path}: ${(cause as Error).message}`, { cause });
    }
    return new FileDeviceKey(privateKey);
  }

  /** Reads a key made by {@link FileDeviceKey.generate}; refuses a file others can read. */
  static async fromFile(path: string): Promise<FileDeviceKey> {
    let mode: number;
    let pem: string;
    try {
      mode = (await stat(path)).mode;
      pem = await readFile(path, 'utf8');
    } catch (cause) {
      throw new EdgeRunnerError('ERR_DEVICE_KEY', `cannot read the device key ${path}: ${(cause as Error).message}`, { cause, hint: 'create it with `ovseal-edge init --file-key`' });
    }
    if ((mode & 0o077) !== 0) throw new EdgeRunnerError('ERR_DEVICE_KEY', `${path} is readable by other users`, { hint: `chmod 600 ${path}` });
    return new FileDeviceKey(createPrivateKey(pem));
  }

  async unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    const ours = stanzas.filter((stanza) => stanza.type === STANZA_TYPE && stanza.args[0] === this.keyId);
    if (ours.length === 0) return null;
    for (const stanza of ours) {
      const key = this.#unwrapOne(stanza.body, context);
      if (key) return key;
    }
    throw new AuthenticationFailedError();
  }

  #unwrapOne(body: Uint8Array, context: WrapContext): Uint8Array | null {
    if (body.length < POINT + TAG) return null;
    const ephemeral = body.subarray(0, POINT);
    const peer = publicKeyOfPoint(ephemeral);
    if (!peer) return null;
    const shared = diffieHellman({ privateKey: this.#privateKey, publicKey: peer });
    const wrapKey = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeral, this.#point]), INFO, 32));
    shared.fill(0);
    try {
      const sealed = body.subarray(POINT);
      const decipher = createDecipheriv('aes-256-gcm', wrapKey, Buffer.alloc(12));
      decipher.setAAD(context.aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
      const plain = decipher.update(sealed.subarray(0, sealed.length - TAG));
      try {
        decipher.final();
        return plain;
      } catch {
        plain.fill(0);
        return null;
      }
    } finally {
      wrapKey.fill(0);
    }
  }
}
