import type { Identity, Stanza, WrapContext } from '@ovseal/container';

/**
 * Opens a container with the stanza the broker released to this device, instead of the stanzas in
 * the container's header (those are for the broker's KMS key). The container still checks the key
 * against its header (key commitment, MAC), and the stanza is bound to this container's context.
 */
export class CachedStanzaIdentity implements Identity {
  readonly #device: Identity;
  readonly #stanza: Stanza;

  constructor(device: Identity, stanza: Stanza) {
    this.#device = device;
    this.#stanza = stanza;
  }

  unwrap(_headerStanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    return this.#device.unwrap([this.#stanza], context);
  }
}
