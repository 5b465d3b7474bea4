import type { Identity } from '../types.js';
import type { ParsedHeader } from './header.js';
import { wipe } from './keys.js';
import { checkBeforeUnlock, type TrustPolicy } from './policy.js';
import type { Reader } from './source.js';
import { readHeader } from './source.js';
import { unlock } from './unlock.js';

/** Options shared by every call that decrypts. */
export interface OpenCommonOptions {
  /** Keys to try, in order; the first whose stanza unwraps opens the container. */
  readonly identities: readonly Identity[];
  /** Require a valid publisher signature by one of these keys (payload digest included). */
  readonly trust?: TrustPolicy | undefined;
  /** The time expiry is checked against (default: now). */
  readonly now?: Date | undefined;
  /** Worker threads for the payload; 0 decrypts on the calling thread. Default: automatic. */
  readonly workers?: number | undefined;
  /** Called as payload bytes are processed. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/**
 * Everything before the payload: header parse, expiry, signature and trust (cheap checks first, so
 * no KMS or TPM call is made for a container that would be refused), then unwrap and MAC. A present
 * signature is verified even when no trust is required: an invalid one is refused.
 */
export async function prepareOpen(reader: Reader, options: OpenCommonOptions): Promise<{ header: ParsedHeader; payloadKey: Buffer }> {
  const header = await readHeader(reader);
  checkBeforeUnlock(header, options);
  const { dataKey, keys } = await unlock(header, options.identities);
  wipe(dataKey, keys.macKey);
  return { header, payloadKey: keys.payloadKey };
}
