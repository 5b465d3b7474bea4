import type { Recipient, Stanza, WrapContext } from '@ovseal/container';
import type { Mechanism, PKCS11 } from 'pkcs11js';
import { Pkcs11Error } from './errors.js';
import { CKO_PUBLIC_KEY, CKO_SECRET_KEY } from './lib/ck.js';
import { checkRfc5649Length, kwpMechanism, oaepMechanism, wrapInToken } from './lib/in-token.js';
import { aesKekId, rsaKekId, wrapKindOf, type WrapKind } from './lib/key-ids.js';
import { describeKey, exactlyOne, findKeys, type FoundKey } from './lib/objects.js';
import { ckrOf, toPkcs11Error } from './lib/to-pkcs11-error.js';
import { TokenConnection, type Pkcs11Options } from './lib/token.js';
import { AES_KWP_STANZA, boundValue, KWP_BODY_LENGTH, RSA_OAEP_STANZA, type OaepHash } from './lib/wire.js';
import { parsePkcs11Uri } from './parse-pkcs11-uri.js';

/** Options of {@link Pkcs11Recipient.open}. */
export interface Pkcs11RecipientOptions extends Pkcs11Options {
  /**
   * OAEP hash for an RSA key. Default: SHA-256, or SHA-1 when the token refuses SHA-256 (SoftHSM
   * 2.6 does); the identity's token must support the hash the stanza records.
   */
  readonly oaepHash?: OaepHash;
}

/**
 * Wraps the data key inside a PKCS#11 token (an HSM, a smart card, SoftHSM): with an AES key by
 * AES key wrap with padding (RFC 5649, stanza `pkcs11-aes-kwp`), or with an RSA public key by
 * RSA-OAEP (`pkcs11-rsa-oaep`) where the token has no AES wrap. The key-encryption key never leaves
 * the token; the wrapped value binds the container's wrap context (docs/FORMAT.md §5.3).
 *
 * Close it when done: it holds a session (and a login) on the token.
 *
 * @example
 * ```ts
 * const recipient = await Pkcs11Recipient.open('pkcs11:token=ovseal;object=model-kek?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:HSM_PIN');
 * try {
 *   await seal({ output: 'model.ovseal', entries, metadata, recipients: [recipient] });
 * } finally {
 *   await recipient.close();
 * }
 * ```
 */
export class Pkcs11Recipient implements Recipient {
  /** The stanza key id: identities recognise their stanzas by it. */
  readonly keyId: string;
  readonly stanzaType: string;
  readonly #token: TokenConnection;
  readonly #key: FoundKey;
  readonly #kind: WrapKind;
  #mechanism: Mechanism;
  #oaepHash: OaepHash | undefined;
  readonly #hashChosen: boolean;
  #closed = false;

  private constructor(
    token: TokenConnection,
    key: FoundKey,
    kind: WrapKind,
    keyId: string,
    mechanism: Mechanism,
    oaepHash: OaepHash | undefined,
    hashChosen: boolean,
  ) {
    this.#token = token;
    this.#key = key;
    this.#kind = kind;
    this.keyId = keyId;
    this.stanzaType = kind === 'aes-kwp' ? AES_KWP_STANZA : RSA_OAEP_STANZA;
    this.#mechanism = mechanism;
    this.#oaepHash = oaepHash;
    this.#hashChosen = hashChosen;
  }

  /** Logs in, finds the one AES secret key or RSA public key the URI names, and computes its key id. */
  static async open(uri: string, options: Pkcs11RecipientOptions = {}): Promise<Pkcs11Recipient> {
    const parsed = parsePkcs11Uri(uri);
    const token = await TokenConnection.connect(parsed, options);
    try {
      return await token.withSession(async (api, session) => {
        const candidates = findKeys(api, session, parsed, [CKO_SECRET_KEY, CKO_PUBLIC_KEY]).filter((key) => wrapKindOf(key) !== undefined);
        const key = exactlyOne(candidates, parsed, token.description, 'AES secret key or RSA public key');
        const kind = wrapKindOf(key)!;
        try {
          if (kind === 'aes-kwp') {
            const mechanism = kwpMechanism(api, token.slot);
            return new Pkcs11Recipient(token, key, kind, await aesKekId(api, session, mechanism, key.handle), mechanism, undefined, false);
          }
          const hash = options.oaepHash ?? 'sha256';
          return new Pkcs11Recipient(
            token,
            key,
            kind,
            rsaKekId(api, session, key.handle),
            oaepMechanism(hash),
            hash,
            options.oaepHash !== undefined,
          );
        } catch (error) {
          throw toPkcs11Error(error, 'C_WrapKey', describeKey(key));
        }
      });
    } catch (error) {
      await token.release();
      throw error;
    }
  }

  async wrap(dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]> {
    if (this.#closed) throw new Pkcs11Error('ERR_PKCS11_FAILED', 'this PKCS#11 recipient was closed');
    const bound = boundValue(dataKey, context);
    try {
      const body = await this.#token.withSession((api, session) => this.#wrapOnce(api, session, bound));
      const args = this.#kind === 'aes-kwp' ? [this.keyId] : [this.keyId, this.#oaepHash!];
      return [{ type: this.stanzaType, args, body }];
    } catch (error) {
      throw toPkcs11Error(error, 'C_WrapKey', `${describeKey(this.#key)} in ${this.#token.description}`);
    } finally {
      bound.fill(0);
    }
  }

  async #wrapOnce(api: PKCS11, session: Buffer, bound: Buffer): Promise<Buffer> {
    if (this.#kind === 'aes-kwp') {
      const body = await wrapInToken(api, session, this.#mechanism, this.#key.handle, bound);
      checkRfc5649Length(body, bound.length);
      if (body.length !== KWP_BODY_LENGTH) throw new Pkcs11Error('ERR_PKCS11_KEY_UNSUITABLE', `unexpected wrap length ${body.length}`);
      return body;
    }
    try {
      return await wrapInToken(api, session, this.#mechanism, this.#key.handle, bound);
    } catch (error) {
      // SoftHSM 2.6 (and some HSMs) only do OAEP with SHA-1: fall back unless the caller chose.
      const refused = ckrOf(error) === 'CKR_ARGUMENTS_BAD' || ckrOf(error) === 'CKR_MECHANISM_PARAM_INVALID';
      if (!refused || this.#oaepHash !== 'sha256' || this.#hashChosen) throw error;
      this.#oaepHash = 'sha1';
      this.#mechanism = oaepMechanism('sha1');
      return wrapInToken(api, session, this.#mechanism, this.#key.handle, bound);
    }
  }

  /** True for the stanzas this recipient's key made (used by `rewrap --remove`). */
  describes(stanza: Stanza): boolean {
    return stanza.type === this.stanzaType && stanza.args[0] === this.keyId;
  }

  /** Releases the token session (the last user of the token logs out and closes it). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#token.release();
  }

  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
