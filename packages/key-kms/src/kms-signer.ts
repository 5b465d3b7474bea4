import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { ecdsaSignatureFromDer, type Signer } from '@ovseal/container';

import { KmsError } from './errors.js';
import { KmsCaller } from './lib/kms-caller.js';
import { parseKeyArn, parseKmsKeyId, regionOf } from './lib/key-id.js';
import type { KmsClientOptions } from './options.js';

/** KMS signs at most 4096 bytes of RAW message; longer ones are sent as their SHA-256 digest. */
const MAX_RAW_MESSAGE = 4096;

function unsuitable(keyId: string, message: string): KmsError {
  return new KmsError('ERR_KMS_KEY_UNSUITABLE', `KMS GetPublicKey (${keyId}): ${message}`, {
    operation: 'GetPublicKey',
    keyId,
    hint: 'create one with `aws kms create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY`',
  });
}

/**
 * A publisher {@link Signer} whose private key stays in AWS KMS: an asymmetric `ECC_NIST_P256`
 * `SIGN_VERIFY` key, used with `ECDSA_SHA_256`. {@link KmsSigner.create} reads the public key once
 * (`GetPublicKey`, which also checks the key can sign); each `sign` is one `Sign` call, pinned to the
 * key's ARN, and KMS's DER signature is converted to the `r ‖ s` the container stores.
 *
 * Messages up to 4096 bytes are sent as they are (`MessageType: RAW`); longer ones as their
 * SHA-256 digest (`DIGEST`), which KMS signs the same way.
 *
 * @example
 * ```ts
 * const signer = await KmsSigner.create('alias/model-publisher');
 * await seal({ output: 'model.ovseal', entries, metadata, recipients, signer });
 * await signer.close();
 * ```
 */
export class KmsSigner implements Signer {
  readonly algorithm = 'ecdsa-p256' as const;
  readonly publicKey: KeyObject;
  /** The ARN of the key, as `GetPublicKey` resolved it (an alias is resolved once). */
  readonly keyArn: string;
  readonly #caller: KmsCaller;

  private constructor(keyArn: string, publicKey: KeyObject, caller: KmsCaller) {
    this.keyArn = keyArn;
    this.publicKey = publicKey;
    this.#caller = caller;
  }

  /** Reads the key's public key and checks it is an ECC_NIST_P256 signing key. */
  static async create(keyId: string, options: KmsClientOptions = {}): Promise<KmsSigner> {
    const ref = parseKmsKeyId(keyId);
    const caller = new KmsCaller(options);
    try {
      const answer = await caller.getPublicKey(keyId, regionOf(ref));
      if (answer.keyUsage !== 'SIGN_VERIFY' || answer.keySpec !== 'ECC_NIST_P256' || !answer.signingAlgorithms.includes('ECDSA_SHA_256')) {
        throw unsuitable(
          keyId,
          `the key is ${String(answer.keySpec)} ${String(answer.keyUsage)}, not an ECC_NIST_P256 SIGN_VERIFY key with ECDSA_SHA_256`,
        );
      }
      if (parseKeyArn(answer.keyArn) === undefined) throw unsuitable(keyId, `KMS reported key ${JSON.stringify(answer.keyArn)}`);
      const publicKey = createPublicKey({ key: Buffer.from(answer.spki), format: 'der', type: 'spki' });
      if (publicKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw unsuitable(keyId, 'the public key is not on P-256');
      return new KmsSigner(answer.keyArn, publicKey, caller);
    } catch (error) {
      caller.close();
      throw error;
    }
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const raw = message.length <= MAX_RAW_MESSAGE;
    const input = raw ? message : createHash('sha256').update(message).digest();
    const der = await this.#caller.sign(this.keyArn, parseKeyArn(this.keyArn)!.region, input, raw ? 'RAW' : 'DIGEST');
    return ecdsaSignatureFromDer(der);
  }

  /** Closes the SDK clients this signer made. Idempotent. */
  async close(): Promise<void> {
    this.#caller.close();
  }

  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
