import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuthenticationFailedError, unwrapMatching, type Identity, type Stanza, type WrapContext } from '@ovseal/container';
import { DeviceKey, requireType, type DeviceKeyOptions, type DeviceKeySource } from './lib/device-key.js';
import { ECDH_STANZA_TYPE, eccPointFile, openEcdh, parseEcdhBody, sharedXFromTpm } from './lib/ecdh-wire.js';
import { pemOf } from './lib/public-key.js';
import { rejectsStanzaInput } from './lib/response-code.js';
import { SECRET_PIPE_PATH, withSecretPipe } from './lib/secret-pipe.js';

/**
 * Unwraps `tpm-ecdh` stanzas with a P-256 device key that never leaves the TPM: the TPM computes
 * the ECDH shared point (TPM2_ECDH_ZGen), Node derives the wrapping key and decrypts.
 *
 * Returns null for stanzas made for other keys. Throws a `TpmError` when the TPM refuses (e.g.
 * `ERR_TPM_POLICY` once the PCRs moved), and `AuthenticationFailedError` when a stanza with this
 * key's id does not decrypt (forged, or moved from another container).
 *
 * @example
 * ```ts
 * const identity = await TpmEcdhIdentity.open({ handle: 0x81000100 }, { tcti: 'device:/dev/tpmrm0' });
 * const model = await open('m.ovseal', { identities: [identity] });
 * ```
 */
export class TpmEcdhIdentity implements Identity {
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly #device: DeviceKey;

  /** @internal Use {@link TpmEcdhIdentity.open} or `tpmIdentityFromUri`. */
  constructor(device: DeviceKey) {
    this.#device = requireType(device, 'tpm-ecdh');
    this.keyId = device.keyId;
    this.publicKeyPem = pemOf(device.publicKey);
  }

  /** Opens the device key at a persistent handle or in a key directory (reads its public part once). */
  static async open(source: DeviceKeySource, options: DeviceKeyOptions = {}): Promise<TpmEcdhIdentity> {
    return new TpmEcdhIdentity(await DeviceKey.open(source, options));
  }

  unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    return unwrapMatching(stanzas, context, {
      keyOf: (s) => (s.type === ECDH_STANZA_TYPE && s.args.length === 1 && s.args[0] === this.keyId ? this.keyId : null), // docs/FORMAT.md R-KEY-1
      unwrapOne: (s, ctx) => this.#unwrapOne(s.body, ctx),
    });
  }

  /** A stanza of this key that does not parse, that the TPM refuses or whose tag fails was tampered with. */
  async #unwrapOne(stanzaBody: Uint8Array, context: WrapContext): Promise<Uint8Array> {
    const body = parseEcdhBody(stanzaBody);
    if (!body) throw new AuthenticationFailedError();
    let sharedX: Buffer;
    try {
      sharedX = await this.#sharedX(body.ephemeralPoint);
    } catch (error) {
      if (rejectsStanzaInput(error, 'tpm2_ecdhzgen')) throw new AuthenticationFailedError();
      throw error;
    }
    try {
      const dataKey = openEcdh(sharedX, body, this.#device.publicKey, context);
      if (!dataKey) throw new AuthenticationFailedError();
      return dataKey;
    } finally {
      sharedX.fill(0);
    }
  }

  /** One tpm2_ecdhzgen; it leaves its auth session open, so the device key flushes sessions after. */
  #sharedX(point: Uint8Array): Promise<Buffer> {
    const device = this.#device;
    return device.use(true, async (keyArg, dir) => {
      await writeFile(join(dir, 'peer.point'), eccPointFile(point));
      const output = await withSecretPipe(device.tools.tpmKey, (fd3) =>
        device.tools.run('ecdhzgen', ['-c', keyArg, ...device.authArgs(), '-u', 'peer.point', '-o', SECRET_PIPE_PATH, '-Q'], {
          cwd: dir,
          fd3,
        }),
      );
      try {
        return sharedXFromTpm(output);
      } finally {
        output.fill(0);
      }
    });
  }
}
