import { createHash, type KeyObject } from 'node:crypto';
import { ecdsaSignatureFromDer, type SignatureAlgorithm, type Signer } from '@ovseal/container';
import type { PKCS11 } from 'pkcs11js';
import { Pkcs11Error } from './errors.js';
import { CKK_EC, CKK_EC_EDWARDS, CKM_ECDSA, CKM_EDDSA, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY } from './lib/ck.js';
import { alwaysAuthenticate, describeKey, ecPublicKey, exactlyOne, findKeys, type FoundKey } from './lib/objects.js';
import { toPkcs11Error } from './lib/to-pkcs11-error.js';
import { TokenConnection, type Pkcs11Options } from './lib/token.js';
import { parsePkcs11Uri, type Pkcs11Uri } from './parse-pkcs11-uri.js';

/** The public key object of a key pair: same CKA_ID (or the same label when the pair has no id). */
function publicHalf(api: PKCS11, session: Buffer, privateKey: FoundKey, token: string): FoundKey {
  const pairUri: Pkcs11Uri = privateKey.id.length > 0 ? { id: privateKey.id } : { object: privateKey.label };
  const found = findKeys(api, session, pairUri, [CKO_PUBLIC_KEY]).filter((key) => key.keyType === privateKey.keyType);
  if (found.length === 0) {
    throw new Pkcs11Error(
      'ERR_PKCS11_OBJECT_NOT_FOUND',
      `${describeKey(privateKey)} in ${token} has no public key object beside it (same CKA_ID)`,
      {
        hint: 'import the public key into the token with the same id (pkcs11-tool --write-object PUB.der --type pubkey --id …)',
      },
    );
  }
  return exactlyOne(found, pairUri, token, 'public key');
}

/**
 * A publisher {@link Signer} whose private key stays in a PKCS#11 token: ECDSA P-256 (`CKM_ECDSA`
 * over a SHA-256 digest computed here) or Ed25519 (`CKM_EDDSA`, where the token supports it). The
 * public key is read from the key pair's public object. Signatures come back as `r ‖ s` (a token that
 * answers DER is converted), as docs/FORMAT.md §3.3 stores them.
 *
 * @example
 * ```ts
 * const signer = await Pkcs11Signer.open('pkcs11:token=ci;object=publisher?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:HSM_PIN');
 * try {
 *   await seal({ output: 'model.ovseal', entries, metadata, recipients, signer });
 * } finally {
 *   await signer.close();
 * }
 * ```
 */
export class Pkcs11Signer implements Signer {
  readonly algorithm: SignatureAlgorithm;
  readonly publicKey: KeyObject;
  readonly #token: TokenConnection;
  readonly #key: FoundKey;
  readonly #perUseLogin: boolean;
  #closed = false;

  private constructor(token: TokenConnection, key: FoundKey, algorithm: SignatureAlgorithm, publicKey: KeyObject, perUseLogin: boolean) {
    this.#token = token;
    this.#key = key;
    this.algorithm = algorithm;
    this.publicKey = publicKey;
    this.#perUseLogin = perUseLogin;
  }

  /** Logs in, finds the one EC or EdDSA private key the URI names, and reads its public key. */
  static async open(uri: string, options: Pkcs11Options = {}): Promise<Pkcs11Signer> {
    const parsed = parsePkcs11Uri(uri);
    const token = await TokenConnection.connect(parsed, options);
    try {
      return await token.withSession((api, session) => {
        const keys = findKeys(api, session, parsed, [CKO_PRIVATE_KEY]).filter(
          (key) => key.keyType === CKK_EC || key.keyType === CKK_EC_EDWARDS,
        );
        const key = exactlyOne(keys, parsed, token.description, 'EC or EdDSA private key');
        const { curve, publicKey } = ecPublicKey(api, session, publicHalf(api, session, key, token.description).handle);
        if (!publicKey)
          throw new Pkcs11Error(
            'ERR_PKCS11_KEY_UNSUITABLE',
            `${describeKey(key)} is on a curve publisher signatures do not use (ECDSA P-256 or Ed25519)`,
          );
        const algorithm: SignatureAlgorithm = curve === 'ed25519' ? 'ed25519' : 'ecdsa-p256';
        const mechanism = algorithm === 'ed25519' ? CKM_EDDSA : CKM_ECDSA;
        if (!api.C_GetMechanismList(token.slot).includes(mechanism)) {
          throw new Pkcs11Error(
            'ERR_PKCS11_KEY_UNSUITABLE',
            `${token.description} cannot sign with ${algorithm === 'ed25519' ? 'CKM_EDDSA' : 'CKM_ECDSA'}`,
            {
              hint: algorithm === 'ed25519' ? 'use an ECDSA P-256 key on this token' : undefined,
            },
          );
        }
        return new Pkcs11Signer(token, key, algorithm, publicKey, alwaysAuthenticate(api, session, key.handle));
      });
    } catch (error) {
      await token.release();
      throw toPkcs11Error(error, 'C_FindObjects', token.description);
    }
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new Pkcs11Error('ERR_PKCS11_FAILED', 'this PKCS#11 signer was closed');
    const ecdsa = this.algorithm === 'ecdsa-p256';
    // CKM_ECDSA signs a digest (SoftHSM has no CKM_ECDSA_SHA256); CKM_EDDSA signs the message itself.
    const input = ecdsa ? createHash('sha256').update(message).digest() : Buffer.from(message);
    try {
      const signature = await this.#token.withSession(async (api, session) => {
        api.C_SignInit(session, { mechanism: ecdsa ? CKM_ECDSA : CKM_EDDSA }, this.#key.handle);
        if (this.#perUseLogin) this.#token.loginForOperation(session);
        return api.C_SignAsync(session, input, Buffer.alloc(256));
      });
      return ecdsa && signature.length !== 64 ? ecdsaSignatureFromDer(signature) : Uint8Array.from(signature);
    } catch (error) {
      throw toPkcs11Error(error, 'C_Sign', `${describeKey(this.#key)} in ${this.#token.description}`);
    }
  }

  /** The label and id of the key in the token, for messages. */
  get description(): string {
    return `${describeKey(this.#key)} in ${this.#token.description}`;
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
