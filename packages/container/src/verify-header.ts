import { headerInfo } from './lib/format/header-info.js';
import { withHeaderKey, type HeaderKeyOptions } from './lib/open/with-header-key.js';
import type { ContainerSource } from './lib/io/container-reader.js';
import { wrapContextOf } from './lib/crypto/unlock.js';
import type { ContainerInfo, Stanza, WrapContext } from './types.js';

/** A header one of the identities unwraps, its key commitment and MAC verified. */
export interface VerifiedHeader {
  readonly info: ContainerInfo;
  /** The recipient stanzas, bodies included (authenticated by the MAC). */
  readonly stanzas: readonly Stanza[];
  /** The context every stanza of this container is bound to. */
  readonly context: WrapContext;
}

/**
 * Proves from the header alone (a whole container, or its first `payloadOffset` bytes) that one of
 * the identities unwraps the data key: expiry, signature, key commitment and header MAC are
 * checked, and the key is wiped. For key services that register a container before serving it
 * (the fleet broker); `verify` checks the payload too.
 *
 * @example
 * ```ts
 * const { info, stanzas } = await verifyHeader(headerBytes, { identities: [kmsIdentity] });
 * ```
 */
export async function verifyHeader(source: ContainerSource, options: HeaderKeyOptions): Promise<VerifiedHeader> {
  return withHeaderKey(source, options, async (header) => ({
    info: headerInfo(header, header.payloadOffset),
    stanzas: header.stanzas,
    context: wrapContextOf(header),
  }));
}
