import { headerInfo } from './lib/info.js';
import { checkNotExpired, checkSignature, type TrustPolicy } from './lib/policy.js';
import { openReader, readHeader, type ContainerSource } from './lib/source.js';
import { unlock, wrapContextOf } from './lib/unlock.js';
import { wipe } from './lib/keys.js';
import type { ContainerInfo, Identity, Stanza, WrapContext } from './types.js';

/** Options of {@link unlockHeader}. */
export interface UnlockHeaderOptions {
  readonly identities: readonly Identity[];
  /** Require a signature over the header core by one of these keys (the payload digest is not checked: no payload is read). */
  readonly trust?: TrustPolicy | undefined;
  readonly now?: Date | undefined;
}

/** A header whose data key was unwrapped and whose key commitment and MAC verified. */
export interface UnlockedHeader {
  readonly info: ContainerInfo;
  /** The recipient stanzas, bodies included. */
  readonly stanzas: readonly Stanza[];
  /** The context every stanza of this container is bound to. */
  readonly context: WrapContext;
  /** The container's data key. The caller owns it: wipe it (`fill(0)`) when done. */
  readonly dataKey: Uint8Array;
}

/**
 * Reads only the header (a whole container, or just its first `payloadOffset` bytes), unwraps the
 * data key and checks its commitment and the header MAC. For key services that hold a header and
 * re-wrap its data key to other recipients (the fleet key broker) without touching the payload.
 *
 * @example
 * ```ts
 * const { dataKey, context } = await unlockHeader(headerBytes, { identities: [kmsIdentity] });
 * const stanzas = await deviceRecipient.wrap(dataKey, context);
 * dataKey.fill(0);
 * ```
 */
export async function unlockHeader(source: ContainerSource, options: UnlockHeaderOptions): Promise<UnlockedHeader> {
  const reader = openReader(source);
  try {
    const header = await readHeader(reader);
    checkNotExpired(header, options.now ?? new Date());
    if (options.trust) checkSignature(header, options.trust);
    const { dataKey, keys } = await unlock(header, options.identities);
    wipe(keys.payloadKey, keys.macKey);
    return { info: headerInfo(header, header.payloadOffset), stanzas: header.stanzas, context: wrapContextOf(header), dataKey };
  } finally {
    reader.close();
  }
}
