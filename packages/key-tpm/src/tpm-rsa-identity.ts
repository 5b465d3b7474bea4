import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuthenticationFailedError, unwrapMatching, type Identity, type Stanza, type WrapContext } from '@ovseal/container';
import { DeviceKey, requireType, type DeviceKeyOptions, type DeviceKeySource } from './lib/device-key.js';
import { pemOf } from './lib/public-key.js';
import { rejectsStanzaInput } from './lib/response-code.js';
import { oaepLabel, RSA_STANZA_TYPE } from './lib/rsa-wire.js';

/**
 * Unwraps `tpm-rsa` stanzas inside the TPM (TPM2_RSA_Decrypt, OAEP-SHA-256 with the container's
 * label): the private key never leaves it.
 *
 * Returns null for stanzas made for other keys. Throws a `TpmError` when the TPM refuses (e.g.
 * `ERR_TPM_POLICY`), and `AuthenticationFailedError` when a stanza with this key's id does not
 * decrypt (forged, or moved from another container: the label differs).
 *
 * @example
 * ```ts
 * const identity = await TpmRsaIdentity.open({ keyDir: '/var/lib/ovseal/device-key' });
 * const dataKey = await identity.unwrap(stanzas, context);
 * ```
 */
export class TpmRsaIdentity implements Identity {
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly #device: DeviceKey;

  /** @internal Use {@link TpmRsaIdentity.open} or `tpmIdentityFromUri`. */
  constructor(device: DeviceKey) {
    this.#device = requireType(device, 'tpm-rsa');
    this.keyId = device.keyId;
    this.publicKeyPem = pemOf(device.publicKey);
  }

  /** Opens the device key at a persistent handle or in a key directory (reads its public part once). */
  static async open(source: DeviceKeySource, options: DeviceKeyOptions = {}): Promise<TpmRsaIdentity> {
    return new TpmRsaIdentity(await DeviceKey.open(source, options));
  }

  unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    return unwrapMatching(stanzas, context, {
      keyOf: (s) => (s.type === RSA_STANZA_TYPE && s.args.length === 1 && s.args[0] === this.keyId ? this.keyId : null), // docs/FORMAT.md R-KEY-1
      unwrapOne: (s, ctx) => this.#unwrapOne(s.body, ctx),
    });
  }

  /**
   * One tpm2_rsadecrypt; it closes its sessions itself, so nothing is left to flush for a persistent
   * key. A ciphertext the TPM refuses (wrong label: another container) is an authentication failure.
   */
  async #unwrapOne(ciphertext: Uint8Array, context: WrapContext): Promise<Uint8Array> {
    const device = this.#device;
    try {
      return await device.use(false, async (keyArg, dir) => {
        // The tool appends the NUL the TPM expects; a file keeps the label from being read as a path by accident.
        await Promise.all([writeFile(join(dir, 'wrapped.bin'), ciphertext), writeFile(join(dir, 'label.txt'), oaepLabel(context))]);
        return device.tools.run('rsadecrypt', ['-c', keyArg, ...device.authArgs(), '-s', 'oaep', '-l', 'label.txt', 'wrapped.bin'], {
          cwd: dir,
        });
      });
    } catch (error) {
      // libtpms reports a failed OAEP decoding as TPM_RC_FAILURE, real TPMs as TPM_RC_VALUE.
      if (rejectsStanzaInput(error, 'tpm2_rsadecrypt', { failureToo: true })) throw new AuthenticationFailedError();
      throw error;
    }
  }
}
