import type { Identity } from '../types.js';
import type { ParsedHeader } from './header.js';
import { wipe } from './keys.js';
import { checkBeforeUnlock, type TrustPolicy } from './policy.js';
import { openReader, readHeader, type ContainerSource } from './source.js';
import { unlock } from './unlock.js';

/** Options of the header-only calls for key services. */
export interface HeaderKeyOptions {
  readonly identities: readonly Identity[];
  /** Require a signature over the header core by one of these keys (no payload is read: its digest is not checked). */
  readonly trust?: TrustPolicy | undefined;
  /** The time expiry is checked against (default: now). */
  readonly now?: Date | undefined;
}

/**
 * Reads only the header (a whole container, or its first `payloadOffset` bytes), applies expiry and
 * the signature (cheap checks first: no key is used for a refused header), unwraps the data key and
 * checks its commitment and the header MAC; hands the key to `use` and wipes it after. The key
 * never leaves this package.
 */
export async function withHeaderKey<T>(source: ContainerSource, options: HeaderKeyOptions, use: (header: ParsedHeader, dataKey: Uint8Array) => Promise<T>): Promise<T> {
  const reader = openReader(source);
  try {
    const header = await readHeader(reader);
    checkBeforeUnlock(header, options);
    const { dataKey, keys } = await unlock(header, options.identities);
    wipe(keys.payloadKey, keys.macKey);
    try {
      return await use(header, dataKey);
    } finally {
      wipe(dataKey);
    }
  } finally {
    reader.close();
  }
}
