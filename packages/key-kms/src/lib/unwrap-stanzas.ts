import type { Stanza, WrapContext } from '@ovseal/container';

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
 * The unwrap shared by the pinned and the discovery identities. Stanzas of other types, malformed
 * ones and those whose key is not ours are skipped (null when none is left). Each of ours is tried
 * with `Decrypt`, `KeyId` pinned to the ARN it records; the first success wins, and if all fail the
 * first error is thrown — e.g. a key in one region is unreachable and its replica in another works.
 */
export async function unwrapStanzas(
  stanzas: readonly Stanza[],
  context: WrapContext,
  deps: UnwrapDependencies,
): Promise<Uint8Array | null> {
  let firstError: unknown;
  for (const stanza of stanzas) {
    if (stanza.type !== KMS_STANZA_TYPE || stanza.args.length !== 1) continue;
    const key = parseKeyArn(stanza.args[0] ?? '');
    if (key === undefined) continue;
    try {
      if (!(await deps.isMine(key))) continue;
      return await decryptStanza(key, stanza.body, context, deps);
    } catch (error) {
      firstError ??= error;
    }
  }
  if (firstError !== undefined) throw firstError;
  return null;
}

async function decryptStanza(key: KeyArn, wrapped: Uint8Array, context: WrapContext, deps: UnwrapDependencies): Promise<Uint8Array> {
  const cacheKey = deps.cache ? DataKeyCache.keyOf(key.arn, wrapped, context.encryptionContext) : '';
  const cached = deps.cache?.take(cacheKey);
  if (cached) return cached;
  const dataKey = await deps.caller.decrypt(key.arn, key.region, wrapped, { ...context.encryptionContext });
  deps.cache?.put(cacheKey, dataKey);
  return dataKey;
}
