import { InvalidArgumentError, type Identity, type Stanza, type WrapContext } from '@ovseal/container';

import { KmsError } from './errors.js';
import { DataKeyCache } from './lib/data-key-cache.js';
import { parseKmsKeyId, type KeyArn, type KmsKeyRef } from './lib/key-id.js';
import { KmsCaller } from './lib/kms-caller.js';
import { unwrapStanzas } from './lib/unwrap-stanzas.js';
import type { KmsIdentityOptions } from './options.js';

/**
 * Unwraps `aws-kms` stanzas made under the keys it is given, with KMS `Decrypt` and the container's
 * encryption context. `KeyId` is pinned to the ARN the stanza records, so KMS never decrypts under
 * a key the caller did not name. A stanza of another key is not this identity's (null).
 *
 * Keys may be named by ARN, key id (matches that key in any region: multi-Region replicas), or
 * alias (resolved with `DescribeKey` in the stanza's region, once per identity: an alias matches the
 * key it points to now).
 *
 * @example
 * ```ts
 * const identity = new KmsIdentity('arn:aws:kms:eu-west-1:111122223333:key/1234abcd-…', {
 *   cache: { ttlMs: 60_000, maxUses: 10 },
 * });
 * const model = await open('model.ovseal', { identities: [identity] });
 * ```
 */
export class KmsIdentity implements Identity {
  readonly keyIds: readonly string[];
  readonly #refs: readonly KmsKeyRef[];
  readonly #caller: KmsCaller;
  readonly #cache: DataKeyCache | undefined;
  readonly #aliasTargets = new Map<string, Promise<string | undefined>>();

  constructor(keyIds: string | readonly string[], options: KmsIdentityOptions = {}) {
    const list = typeof keyIds === 'string' ? [keyIds] : [...keyIds];
    if (list.length === 0) throw new InvalidArgumentError('a KMS identity needs at least one key id (or use KmsDiscoveryIdentity)');
    this.#refs = list.map(parseKmsKeyId);
    this.keyIds = list;
    this.#caller = new KmsCaller(options);
    this.#cache = options.cache ? new DataKeyCache(options.cache) : undefined;
  }

  async unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    return unwrapStanzas(stanzas, context, { caller: this.#caller, cache: this.#cache, isMine: (key) => this.#isMine(key) });
  }

  /** Zeroes and drops every cached data key. */
  clearCache(): void {
    this.#cache?.clear();
  }

  /** Clears the cache and closes the SDK clients this identity made. Idempotent. */
  async close(): Promise<void> {
    this.clearCache();
    this.#caller.close();
  }

  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #isMine(key: KeyArn): Promise<boolean> {
    for (const ref of this.#refs) {
      if (await this.#matches(ref, key)) return true;
    }
    return false;
  }

  async #matches(ref: KmsKeyRef, key: KeyArn): Promise<boolean> {
    switch (ref.kind) {
      case 'key-arn':
        return ref.arn === key.arn;
      case 'key-id':
        return ref.keyId === key.keyId;
      case 'alias-arn':
        return ref.region === key.region && ref.accountId === key.accountId && (await this.#aliasTarget(ref.arn, key.region)) === key.arn;
      case 'alias-name':
        return (await this.#aliasTarget(ref.aliasName, key.region)) === key.arn;
    }
  }

  /** The key ARN an alias points to in a region; undefined when the alias does not exist there. */
  #aliasTarget(alias: string, region: string): Promise<string | undefined> {
    const cacheKey = `${region} ${alias}`;
    let target = this.#aliasTargets.get(cacheKey);
    if (target === undefined) {
      target = this.#caller.describeKeyArn(alias, region).catch((error: unknown) => {
        if (error instanceof KmsError && error.code === 'ERR_KMS_KEY_NOT_FOUND') return undefined;
        this.#aliasTargets.delete(cacheKey); // a transient failure is not remembered
        throw error;
      });
      this.#aliasTargets.set(cacheKey, target);
    }
    return target;
  }
}
