import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import type { Identity, Stanza, WrapContext } from '@ovseal/container';
import { SoftwareEcdhIdentity } from '@ovseal/key-tpm';
import { EdgeRunnerError } from './errors.js';

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
  // The stanza crypto is @ovseal/key-tpm's (the same `tpm-ecdh` wire format as a TPM device key).
  readonly #identity: SoftwareEcdhIdentity;

  private constructor(privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new EdgeRunnerError('ERR_DEVICE_KEY', 'a file device key is an EC P-256 private key');
    }
    this.#identity = new SoftwareEcdhIdentity(privateKey);
    this.publicKeyPem = this.#identity.publicKeyPem;
    this.keyId = this.#identity.keyId;
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
      throw new EdgeRunnerError('ERR_DEVICE_KEY', `cannot read the device key ${path}: ${(cause as Error).message}`, {
        cause,
        hint: 'create it with `ovseal-edge init --file-key`',
      });
    }
    if ((mode & 0o077) !== 0)
      throw new EdgeRunnerError('ERR_DEVICE_KEY', `${path} is readable by other users`, { hint: `chmod 600 ${path}` });
    return new FileDeviceKey(createPrivateKey(pem));
  }

  unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    return this.#identity.unwrap(stanzas, context);
  }
}
