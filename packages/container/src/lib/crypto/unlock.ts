import { AuthenticationFailedError, InvalidArgumentError, NoMatchingKeyError } from '../../errors.js';
import type { Identity } from '../../types.js';
import { createWrapContext } from '../../wrap-context.js';
import { enforced } from '../format/reader-checks.js';
import type { ParsedHeader } from '../format/header-codec.js';
import { DATA_KEY_LENGTH, deriveKeys, equalConstantTime, headerMac, wipe, type DerivedKeys } from './derived-keys.js';

export function wrapContextOf(header: Pick<ParsedHeader, 'containerId' | 'modelName' | 'modelVersion'>) {
  return createWrapContext({ containerId: header.containerId, modelName: header.modelName, modelVersion: header.modelVersion });
}

/**
 * The keys of a candidate data key, when it is the container's (R-COMMIT-1: 32 bytes, and its
 * commitment is the header's); null for a key this container was not sealed under.
 */
function committedKeys(header: ParsedHeader, dataKey: Uint8Array): DerivedKeys | null {
  const keys = deriveKeys(dataKey, header.salt);
  const committed = dataKey.length === DATA_KEY_LENGTH && equalConstantTime(keys.commitment, header.commitment);
  if (!committed && enforced('R-COMMIT-1')) {
    wipe(keys.payloadKey, keys.macKey);
    return null;
  }
  return keys;
}

/**
 * Tries each identity in turn (docs/FORMAT.md §9, step 6). "Not my stanza" (null) moves on; a
 * fatal provider error, or a candidate key that fails the key commitment (a key this container was
 * not sealed under, e.g. a sealer that gave this recipient another key), is kept while the other
 * identities are tried, and thrown if none succeeds, since it says more than "no match". A key
 * that passes the commitment is the data key: if the header MAC then fails, the header was
 * tampered with and no other identity can change that.
 */
/** A container's data key and the keys derived from it; the holder wipes them. */
export interface Unlocked {
  readonly dataKey: Uint8Array;
  readonly keys: DerivedKeys;
}

export async function unlock(header: ParsedHeader, identities: readonly Identity[]): Promise<Unlocked> {
  if (!identities || identities.length === 0) throw new InvalidArgumentError('at least one identity is needed to open a container');
  const context = wrapContextOf(header);
  let firstError: unknown;
  for (const identity of identities) {
    let dataKey: Uint8Array | null;
    try {
      dataKey = await identity.unwrap(header.stanzas, context);
    } catch (error) {
      firstError ??= error;
      continue;
    }
    if (dataKey === null) continue;
    const keys = committedKeys(header, dataKey);
    if (!keys) {
      wipe(dataKey);
      firstError ??= new AuthenticationFailedError();
      continue;
    }
    const authentic = equalConstantTime(headerMac(keys.macKey, header.macInput), header.mac);
    if (!authentic && enforced('R-MAC-1')) {
      wipe(dataKey, keys.payloadKey, keys.macKey);
      throw new AuthenticationFailedError();
    }
    return { dataKey, keys };
  }
  if (firstError !== undefined) throw firstError as Error;
  throw new NoMatchingKeyError(
    header.stanzas.map((stanza) => stanza.type),
    identities.length,
  );
}
