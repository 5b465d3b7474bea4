import type { Identity, Stanza, WrapContext } from '@ovseal/container';

import { DataKeyCache } from './lib/data-key-cache.js';
import type { KeyArn } from './lib/key-id.js';
import { KmsCaller } from './lib/kms-caller.js';
import { unwrapStanzas } from './lib/unwrap-stanzas.js';
import type { KmsDiscoveryFilter, KmsIdentityOptions } from './options.js';

/**
 * Discovery mode (opt-in): unwraps `aws-kms` stanzas under whatever key they record, as long as the
 * key's account and region pass the filter. `Decrypt` is still pinned to the recorded ARN, and the
 * caller's credentials must be allowed to use that key. Prefer {@link KmsIdentity} with explicit
 * keys; use discovery where keys are not known in advance (e.g. a fleet receiving models from
 * several publishing accounts).
 *
 * @example
 * ```ts
 * const identity = new KmsDiscoveryIdentity({ accountIds: ['111122223333'], regions: ['eu-west-1'] });
 * const model = await open('model.ovseal', { identities: [identity] });
 * ```
 */
export class KmsDiscoveryIdentity implements Identity {
  readonly filter: Readonly<KmsDiscoveryFilter>;
  readonly #caller: KmsCaller;
  readonly #cache: DataKeyCache | undefined;

  constructor(filter: KmsDiscoveryFilter, options: KmsIdentityOptions = {}) {
    this.filter = Object.freeze({ ...filter });
    this.#caller = new KmsCaller(options);
    this.#cache = options.cache ? new DataKeyCache(options.cache) : undefined;
  }

  async unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    return unwrapStanzas(stanzas, context, { caller: this.#caller, cache: this.#cache, isMine: async (key) => this.#passes(key) });
  }

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

  #passes(key: KeyArn): boolean {
    const { accountIds, regions, partition = 'aws' } = this.filter;
    return (
      key.partition === partition &&
      (accountIds === undefined || accountIds.includes(key.accountId)) &&
      (regions === undefined || regions.includes(key.region))
    );
  }
}
