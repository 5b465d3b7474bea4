import type { KeyObject } from 'node:crypto';
import type { Recipient, Stanza, WrapContext } from '@ovseal/container';
import { ECDH_STANZA_TYPE, wrapEcdh } from './lib/ecdh-wire.js';
import { keyIdOf, pemOf, requireP256, toPublicKey, type PublicKeyInput } from './lib/public-key.js';

/**
 * Wraps the data key to a TPM device key on P-256 (stanza type `tpm-ecdh`). Needs no TPM: only the
 * device's public key — an ephemeral ECDH, HKDF-SHA-256 and AES-256-GCM bound to the container.
 * Only the TPM holding the private key can unwrap ({@link TpmEcdhIdentity}).
 *
 * @example
 * ```ts
 * const recipient = new TpmEcdhRecipient(readFileSync('device.pem', 'utf8'));
 * await seal({ output: 'm.ovseal', entries, metadata, recipients: [recipient] });
 * ```
 */
export class TpmEcdhRecipient implements Recipient {
  /** Hex SHA-256 of the key's SPKI DER, written in each stanza. */
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly #key: KeyObject;

  /** `publicKey`: SPKI PEM text, a PEM or DER file path, base64 SPKI DER, DER bytes or a KeyObject. */
  constructor(publicKey: PublicKeyInput) {
    this.#key = requireP256(toPublicKey(publicKey));
    this.keyId = keyIdOf(this.#key);
    this.publicKeyPem = pemOf(this.#key);
  }

  async wrap(dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]> {
    return [wrapEcdh(this.#key, this.keyId, dataKey, context)];
  }

  /** True for the stanzas made for this key (used by `rewrap --remove`). */
  describes(stanza: Stanza): boolean {
    return stanza.type === ECDH_STANZA_TYPE && stanza.args[0] === this.keyId;
  }
}
