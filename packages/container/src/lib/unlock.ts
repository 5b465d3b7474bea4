import { AuthenticationFailedError, InvalidArgumentError, NoMatchingKeyError } from '../errors.js';
import type { Identity } from '../types.js';
import { createWrapContext } from '../wrap-context.js';
import type { ParsedHeader } from './header.js';
import { DATA_KEY_LENGTH, deriveKeys, equalConstantTime, headerMac, wipe, type DerivedKeys } from './keys.js';

export function wrapContextOf(header: Pick<ParsedHeader, 'containerId' | 'modelName' | 'modelVersion'>) {
  return createWrapContext({ containerId: header.containerId, modelName: header.modelName, modelVersion: header.modelVersion });
}

/** The data key is right when both its commitment and the header MAC match. */
function checkDataKey(header: ParsedHeader, dataKey: Uint8Array): DerivedKeys {
  if (dataKey.length !== DATA_KEY_LENGTH) throw new AuthenticationFailedError();
  const keys = deriveKeys(dataKey, header.salt);
  const ok = equalConstantTime(keys.commitment, header.commitment) && equalConstantTime(headerMac(keys.macKey, header.macInput), header.mac);
  if (!ok) {
    wipe(keys.payloadKey, keys.macKey);
    throw new AuthenticationFailedError();
  }
  return keys;
}

/**
 * Tries each identity in turn. "Not my stanza" (null) moves on; a fatal provider error is kept and
 * thrown if no other identity succeeds, since it says more than "no match".
 */
export async function unlock(header: ParsedHeader, identities: readonly Identity[]): Promise<{ dataKey: Uint8Array; keys: DerivedKeys }> {
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
    return { dataKey, keys: checkDataKey(header, dataKey) };
  }
  if (firstError !== undefined) throw firstError;
  throw new NoMatchingKeyError(header.stanzas.map((stanza) => stanza.type), identities.length);
}
