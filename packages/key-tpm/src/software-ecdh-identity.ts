import { createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import {
  AuthenticationFailedError,
  InvalidArgumentError,
  unwrapMatching,
  type Identity,
  type Stanza,
  type WrapContext,
} from '@ovseal/container';
import { ECDH_STANZA_TYPE, keyOfPoint, openEcdh, parseEcdhBody } from './lib/ecdh-wire.js';
import { keyIdOf, pemOf } from './lib/public-key.js';

/**
 * Unwraps `tpm-ecdh` stanzas with a P-256 private key held in memory instead of a TPM: for
 * development machines and demos without a TPM. It answers exactly the stanzas a TPM device key
 * does, so a key broker cannot tell the difference — which is the point of the warning: the key is
 * only as safe as wherever the caller keeps it, and a copy of it is a copy of the device.
 *
 * @example
 * ```ts
 * const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
 * const identity = new SoftwareEcdhIdentity(privateKey);
 * const recipient = new TpmEcdhRecipient(identity.publicKeyPem); // what a broker would wrap to
 * ```
 */
export class SoftwareEcdhIdentity implements Identity {
  /** Hex SHA-256 of the SPKI DER, as written in stanzas. */
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;

  constructor(privateKey: KeyObject) {
    if (
      privateKey.type !== 'private' ||
      privateKey.asymmetricKeyType !== 'ec' ||
      privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
    ) {
      throw new InvalidArgumentError('a software tpm-ecdh identity needs an EC P-256 private key');
    }
    this.#privateKey = privateKey;
    this.#publicKey = createPublicKey(privateKey);
    this.keyId = keyIdOf(this.#publicKey);
    this.publicKeyPem = pemOf(this.#publicKey);
  }

  unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    return unwrapMatching(stanzas, context, {
      keyOf: (s) => (s.type === ECDH_STANZA_TYPE && s.args.length === 1 && s.args[0] === this.keyId ? this.keyId : null), // docs/FORMAT.md R-KEY-1
      unwrapOne: async (s, ctx) => this.#unwrapOne(s.body, ctx),
    });
  }

  #unwrapOne(stanzaBody: Uint8Array, context: WrapContext): Uint8Array {
    const body = parseEcdhBody(stanzaBody);
    if (!body) throw new AuthenticationFailedError();
    const sharedX = diffieHellman({ privateKey: this.#privateKey, publicKey: keyOfPoint(body.ephemeralPoint) });
    try {
      const dataKey = openEcdh(sharedX, body, this.#publicKey, context);
      if (!dataKey) throw new AuthenticationFailedError();
      return dataKey;
    } finally {
      sharedX.fill(0);
    }
  }
}
