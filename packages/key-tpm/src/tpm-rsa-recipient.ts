import type { KeyObject } from 'node:crypto';
import type { Recipient, Stanza, WrapContext } from '@ovseal/container';
import { keyIdOf, pemOf, requireRsa, toPublicKey, type PublicKeyInput } from './lib/public-key.js';
import { RSA_STANZA_TYPE, wrapRsa } from './lib/rsa-wire.js';

/**
 * Wraps the data key to a TPM RSA device key (stanza type `tpm-rsa`): RSA-OAEP-SHA-256 with a label
 * derived from the container, computed with the public key alone. Only the TPM holding the private
 * key can unwrap ({@link TpmRsaIdentity}).
 *
 * @example
 * ```ts
 * const recipient = new TpmRsaRecipient('/etc/ovseal/device-rsa.pem');
 * const stanzas = await recipient.wrap(dataKey, createWrapContext({ containerId, modelName, modelVersion }));
 * ```
 */
export class TpmRsaRecipient implements Recipient {
  /** Hex SHA-256 of the key's SPKI DER, written in each stanza. */
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly #key: KeyObject;

  /** `publicKey`: SPKI PEM text, a PEM or DER file path, base64 SPKI DER, DER bytes or a KeyObject. */
  constructor(publicKey: PublicKeyInput) {
    this.#key = requireRsa(toPublicKey(publicKey));
    this.keyId = keyIdOf(this.#key);
    this.publicKeyPem = pemOf(this.#key);
  }

  async wrap(dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]> {
    return [wrapRsa(this.#key, this.keyId, dataKey, context)];
  }

  /** True for the stanzas made for this key (used by `rewrap --remove`). */
  describes(stanza: Stanza): boolean {
    return stanza.type === RSA_STANZA_TYPE && stanza.args[0] === this.keyId;
  }
}
