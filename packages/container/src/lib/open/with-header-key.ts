import type { Identity } from '../../types.js';
import type { ParsedHeader } from '../format/header-codec.js';
import { wipe } from '../crypto/derived-keys.js';
import { authenticateHeader } from './prepare-open.js';
import type { TrustPolicy } from './policy-checks.js';
import { openReader, type ContainerSource } from '../io/container-reader.js';

/** Options of the header-only calls for key services. */
export interface HeaderKeyOptions {
  readonly identities: readonly Identity[];
  /** Require a signature over the header core by one of these keys (no payload is read: its digest is not checked). */
  readonly trust?: TrustPolicy | undefined;
  /** The time expiry is checked against (default: now). */
  readonly now?: Date | undefined;
}

/**
 * Reads only the header (a whole container, or its first `payloadOffset` bytes) and authenticates it
 * as a reader does (docs/FORMAT.md §9: signature first, so no key is used for a header whose
 * signature fails; then unwrap, key commitment, MAC, expiry); hands the key to `use` and wipes it
 * after. The key never leaves this package.
 */
export async function withHeaderKey<T>(
  source: ContainerSource,
  options: HeaderKeyOptions,
  use: (header: ParsedHeader, dataKey: Uint8Array) => Promise<T>,
): Promise<T> {
  const reader = openReader(source);
  try {
    const { header, unlocked } = await authenticateHeader(reader, options);
    wipe(unlocked.keys.payloadKey, unlocked.keys.macKey);
    try {
      return await use(header, unlocked.dataKey);
    } finally {
      wipe(unlocked.dataKey);
    }
  } finally {
    reader.close();
  }
}
