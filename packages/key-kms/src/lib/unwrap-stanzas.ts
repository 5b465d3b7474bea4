import { AuthenticationFailedError, unwrapMatching, type Stanza, type WrapContext } from '@ovseal/container';
import { KmsError } from '../errors.js';

import { KMS_STANZA_TYPE } from '../stanza-type.js';
import { DataKeyCache } from './data-key-cache.js';
import { parseKeyArn, type KeyArn } from './key-id.js';
import type { KmsCaller } from './kms-caller.js';

export interface UnwrapDependencies {
  readonly caller: KmsCaller;
  readonly cache: DataKeyCache | undefined;
  /** Whether a stanza's key is one this identity may use; may call KMS (alias resolution). */
  readonly isMine: (key: KeyArn) => Promise<boolean>;
}

/**
 * The unwrap shared by the pinned and the discovery identities, through the container's
 * `unwrapMatching`: stanzas of other types, malformed ones and those whose key is not ours are
 * skipped without a call (null when none is left); each of our keys (by ARN) is tried with one
 * `Decrypt`, `KeyId` pinned to that ARN, and a key named by several stanzas is not tried at all.
 * The first key that unwraps wins — e.g. a key in one region is unreachable and its replica in
 * another works — else the first failure is thrown.
 */
export function unwrapStanzas(stanzas: readonly Stanza[], context: WrapContext, deps: UnwrapDependencies): Promise<Uint8Array | null> {
  return unwrapMatching(stanzas, context, {
    async keyOf(stanza) {
      if (stanza.type !== KMS_STANZA_TYPE || stanza.args.length !== 1) return null;
      const key = parseKeyArn(stanza.args[0] ?? '');
      return key !== undefined && (await deps.isMine(key)) ? key.arn : null;
    },
    unwrapOne: (stanza, ctx) => decryptStanza(parseKeyArn(stanza.args[0]!)!, stanza.body, ctx, deps),
  });
}

async function decryptStanza(key: KeyArn, wrapped: Uint8Array, context: WrapContext, deps: UnwrapDependencies): Promise<Uint8Array> {
  const cacheKey = deps.cache ? DataKeyCache.keyOf(key.arn, wrapped, context.encryptionContext) : '';
  const cached = deps.cache?.take(cacheKey);
  if (cached) return cached;
  let dataKey: Uint8Array;
  try {
    dataKey = await deps.caller.decrypt(key.arn, key.region, wrapped, { ...context.encryptionContext });
  } catch (error) {
    // KMS refused the stanza itself (altered, moved from another container, or naming another key
    // than the one that made it): the one answer every provider gives for that, with KMS's as cause.
    if (error instanceof KmsError && error.code === 'ERR_KMS_INVALID_CIPHERTEXT') throw new AuthenticationFailedError({ cause: error });
    throw error;
  }
  deps.cache?.put(cacheKey, dataKey);
  return dataKey;
}
