import type { Recipient, Stanza, WrapContext } from '@ovseal/container';

import { KmsCaller } from './lib/kms-caller.js';
import { parseKeyArn, parseKmsKeyId, regionOf, type KmsKeyRef } from './lib/key-id.js';
import { unexpectedResponse } from './lib/to-kms-error.js';
import type { KmsClientOptions } from './options.js';
import { KMS_STANZA_TYPE } from './stanza-type.js';

/**
 * Wraps the data key with AWS KMS `Encrypt` (stanza type `aws-kms`). The encryption context binds
 * the wrap to the container (id, model name, version), so the stanza cannot be moved to another one.
 *
 * The key may be named by ARN (its region is used), alias (`alias/NAME` or alias ARN) or key id.
 * Give several recipients to wrap under several keys, e.g. one per region.
 *
 * @example
 * ```ts
 * const recipients = [
 *   new KmsRecipient('arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
 *   new KmsRecipient('arn:aws:kms:us-east-1:111122223333:alias/models'),
 * ];
 * await seal({ output: 'model.ovseal', entries, metadata, recipients });
 * ```
 */
export class KmsRecipient implements Recipient {
  /** The key as given. */
  readonly keyId: string;
  readonly #ref: KmsKeyRef;
  readonly #caller: KmsCaller;
  #lastArn: string | undefined;

  constructor(keyId: string, options: KmsClientOptions = {}) {
    this.#ref = parseKmsKeyId(keyId);
    this.keyId = keyId;
    this.#caller = new KmsCaller(options);
  }

  async wrap(dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]> {
    const { keyArn, ciphertext } = await this.#caller.encrypt(this.keyId, regionOf(this.#ref), dataKey, { ...context.encryptionContext });
    const parsed = parseKeyArn(keyArn);
    if (parsed === undefined || !this.#couldBe(parsed.arn, parsed.keyId)) {
      throw unexpectedResponse('Encrypt', this.keyId, `KMS reported key ${JSON.stringify(keyArn)}`);
    }
    this.#lastArn = keyArn;
    return [{ type: KMS_STANZA_TYPE, args: [keyArn], body: ciphertext }];
  }

  /**
   * True for the stanzas this recipient's key made (used by `rewrap --remove`). An alias is only
   * known to match once this recipient has wrapped with it.
   */
  describes(stanza: Stanza): boolean {
    if (stanza.type !== KMS_STANZA_TYPE) return false;
    const key = parseKeyArn(stanza.args[0] ?? '');
    if (key === undefined) return false;
    return (
      key.arn === this.#lastArn || (this.#ref.kind !== 'alias-name' && this.#ref.kind !== 'alias-arn' && this.#couldBe(key.arn, key.keyId))
    );
  }

  /** Closes the SDK clients this recipient made. Idempotent. */
  async close(): Promise<void> {
    this.#caller.close();
  }

  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #couldBe(arn: string, keyId: string): boolean {
    switch (this.#ref.kind) {
      case 'key-arn':
        return arn === this.#ref.arn;
      case 'key-id':
        return keyId === this.#ref.keyId;
      default:
        return true;
    }
  }
}
