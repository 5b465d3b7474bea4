import type { Identity, Stanza, WrapContext } from '@ovseal/container';
import type { PKCS11 } from 'pkcs11js';
import { Pkcs11Error } from './errors.js';
import { CKO_PRIVATE_KEY, CKO_SECRET_KEY } from './lib/ck.js';
import { kwpMechanism, oaepMechanism, unwrapInToken } from './lib/in-token.js';
import { aesKekId, rsaKekId, wrapKindOf } from './lib/key-ids.js';
import { describeKey, describeQuery, findKeys, type FoundKey } from './lib/objects.js';
import { toPkcs11Error } from './lib/to-pkcs11-error.js';
import { TokenConnection, type Pkcs11Options } from './lib/token.js';
import { AES_KWP_STANZA, KWP_BODY_LENGTH, OAEP_HASHES, openBoundValue, RSA_OAEP_STANZA, type OaepHash } from './lib/wire.js';
import { parsePkcs11Uri, type Pkcs11Uri } from './parse-pkcs11-uri.js';
import { AuthenticationFailedError, unwrapMatching } from '@ovseal/container';

/** A key of the token and the stanza key id it answers to. */
interface Candidate {
  readonly key: FoundKey;
  readonly keyId: string;
}

/**
 * Unwraps data keys inside a PKCS#11 token: `pkcs11-aes-kwp` stanzas with an AES key,
 * `pkcs11-rsa-oaep` stanzas with an RSA private key. Stanzas of other types or other keys are "not
 * mine" (null, and the token is not even opened); a stanza of this key that does not unwrap is an
 * authentication failure. The token is opened at the first stanza of these types and kept until
 * {@link Pkcs11Identity.close}.
 *
 * The URI may name one key (`object=`, `id=`): then a missing key is an error
 * (`ERR_PKCS11_OBJECT_NOT_FOUND`). Without them every AES and RSA private key of the token is tried.
 *
 * @example
 * ```ts
 * const identity = Pkcs11Identity.fromUri('pkcs11:token=ovseal;object=model-kek?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:HSM_PIN');
 * try {
 *   const model = await open('model.ovseal', { identities: [identity] });
 * } finally {
 *   await identity.close();
 * }
 * ```
 */
export class Pkcs11Identity implements Identity {
  readonly #uri: Pkcs11Uri;
  readonly #options: Pkcs11Options;
  #token: Promise<TokenConnection> | undefined;
  /** Key ids by key (handle, label, id): computing an AES key's id costs one wrap in the token. */
  readonly #ids = new Map<string, string>();
  #closed = false;

  private constructor(uri: Pkcs11Uri, options: Pkcs11Options) {
    this.#uri = uri;
    this.#options = options;
  }

  /** An identity for a `pkcs11:` URI; nothing is opened until a stanza of this provider shows up. */
  static fromUri(uri: string, options: Pkcs11Options = {}): Pkcs11Identity {
    return new Pkcs11Identity(parsePkcs11Uri(uri), options);
  }

  async unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    // Only stanzas of these types with their type's argument count can be ours (docs/FORMAT.md
    // R-KEY-1): for any other container the token is not even opened.
    const relevant = stanzas.filter((stanza) => ARGUMENT_COUNT[stanza.type] === stanza.args.length);
    if (relevant.length === 0) return null;
    if (this.#closed) throw new Pkcs11Error('ERR_PKCS11_FAILED', 'this PKCS#11 identity was closed');
    const token = await this.#connect();
    return token.withSession(async (api, session) => {
      const candidates = await this.#candidates(api, session, token);
      const candidateFor = (stanza: Stanza) => candidates.find((c) => c.keyId === stanza.args[0] && kindMatches(c.key, stanza.type));
      // One attempt per key, none for a key named twice, whatever the order (R-KEY-2, R-KEY-4).
      return unwrapMatching(relevant, context, {
        keyOf: (stanza) => {
          const candidate = candidateFor(stanza);
          return candidate ? `${stanza.type}/${candidate.keyId}` : null;
        },
        unwrapOne: (stanza, ctx) => this.#unwrapOne(api, session, token, candidateFor(stanza)!, stanza, ctx),
      });
    });
  }

  async #connect(): Promise<TokenConnection> {
    this.#token ??= TokenConnection.connect(this.#uri, this.#options);
    try {
      return await this.#token;
    } catch (error) {
      this.#token = undefined;
      throw error;
    }
  }

  async #candidates(api: PKCS11, session: Buffer, token: TokenConnection): Promise<Candidate[]> {
    const keys = findKeys(api, session, this.#uri, [CKO_SECRET_KEY, CKO_PRIVATE_KEY]).filter((key) => wrapKindOf(key) !== undefined);
    const namesOne = this.#uri.object !== undefined || this.#uri.id !== undefined;
    if (keys.length === 0 && namesOne) {
      throw new Pkcs11Error(
        'ERR_PKCS11_OBJECT_NOT_FOUND',
        `no AES secret key or RSA private key matches ${describeQuery(this.#uri)} in ${token.description}`,
        {
          hint: 'the key may have been deleted; list the keys with `pkcs11-tool --module MODULE --login --list-objects`',
        },
      );
    }
    const candidates: Candidate[] = [];
    for (const key of keys) {
      const cacheKey = `${key.handle.toString('hex')}/${key.label}/${key.id.toString('hex')}`;
      let keyId = this.#ids.get(cacheKey);
      if (keyId === undefined) {
        try {
          keyId =
            wrapKindOf(key) === 'aes-kwp'
              ? await aesKekId(api, session, kwpMechanism(api, token.slot), key.handle)
              : rsaKekId(api, session, key.handle);
        } catch (error) {
          // A key that cannot wrap (no CKA_WRAP, another wrap variant) is not one of ours, unless it is the one named.
          if (namesOne) throw toPkcs11Error(error, 'C_WrapKey', `${describeKey(key)} in ${token.description}`);
          continue;
        }
        this.#ids.set(cacheKey, keyId);
      }
      candidates.push({ key, keyId });
    }
    return candidates;
  }

  async #unwrapOne(
    api: PKCS11,
    session: Buffer,
    token: TokenConnection,
    candidate: Candidate,
    stanza: Stanza,
    context: WrapContext,
  ): Promise<Uint8Array> {
    const body = Buffer.from(stanza.body);
    let mechanism;
    if (stanza.type === AES_KWP_STANZA) {
      // Any other length fails the unwrap (R-P11-2) or the bound value (R-P11-1): no token call for it.
      if (body.length !== KWP_BODY_LENGTH) throw new AuthenticationFailedError();
      mechanism = kwpMechanism(api, token.slot);
    } else {
      const hash = stanza.args[1] as OaepHash;
      if (!OAEP_HASHES.includes(hash)) throw new AuthenticationFailedError(); // R-P11-3
      mechanism = oaepMechanism(hash);
    }
    let bound: Buffer | undefined;
    try {
      bound = await unwrapInToken(api, session, mechanism, candidate.key.handle, body);
      return openBoundValue(bound, context);
    } catch (error) {
      if (error instanceof AuthenticationFailedError) throw error;
      throw toPkcs11Error(error, 'C_UnwrapKey', `${describeKey(candidate.key)} in ${token.description}`);
    } finally {
      bound?.fill(0);
    }
  }

  /** Releases the token session if one was opened (the last user logs out). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const token = this.#token;
    this.#token = undefined;
    if (token) await (await token.catch(() => undefined))?.release();
  }

  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The argument count of each stanza type of this package (docs/FORMAT.md §5.3). */
const ARGUMENT_COUNT: Readonly<Record<string, number>> = { [AES_KWP_STANZA]: 1, [RSA_OAEP_STANZA]: 2 };

function kindMatches(key: FoundKey, stanzaType: string): boolean {
  return (wrapKindOf(key) === 'aes-kwp') === (stanzaType === AES_KWP_STANZA);
}
