import { headerInfo } from './lib/format/header-info.js';
import { withHeaderKey, type HeaderKeyOptions } from './lib/open/with-header-key.js';
import type { ContainerSource } from './lib/io/container-reader.js';
import { wrapContextOf } from './lib/crypto/unlock.js';
import type { ContainerInfo, Recipient, Stanza, WrapContext } from './types.js';

/** Options of {@link rewrapHeader}. */
export interface RewrapHeaderOptions extends HeaderKeyOptions {
  /** Who to wrap the data key to (e.g. one device's TPM key). */
  readonly recipients: readonly Recipient[];
}

/** Stanzas for new recipients, made from a verified header. */
export interface RewrappedHeader {
  readonly info: ContainerInfo;
  /** The context the new stanzas are bound to (the container's). */
  readonly context: WrapContext;
  /** The new recipients' stanzas only (the header is not changed). */
  readonly stanzas: readonly Stanza[];
}

/**
 * Wraps a container's data key to other recipients from its header alone, without the key leaving
 * this package: the header is verified as {@link verifyHeader} does (expiry, signature, key
 * commitment, MAC) before anything is wrapped, and the key is wiped after. For key services that
 * release a model's key to one device (the fleet broker); `rewrap` changes a container file.
 *
 * @example
 * ```ts
 * const { stanzas } = await rewrapHeader(headerBytes, { identities: [kmsIdentity], recipients: [new TpmEcdhRecipient(devicePem)] });
 * ```
 */
export async function rewrapHeader(source: ContainerSource, options: RewrapHeaderOptions): Promise<RewrappedHeader> {
  return withHeaderKey(source, options, async (header, dataKey) => {
    const context = wrapContextOf(header);
    const stanzas = (await Promise.all(options.recipients.map((recipient) => recipient.wrap(dataKey, context)))).flat();
    return { info: headerInfo(header, header.payloadOffset), context, stanzas };
  });
}
