import type { Identity, Recipient, Stanza } from '@ovseal/container';
import { builtInSchemes } from './built-in-schemes.js';
import { UsageError } from './output.js';

/** The registry every command uses: the built-in providers, then plugins by scheme. */
const registry = builtInSchemes();

export function recipientFromUri(uri: string): Promise<Recipient> {
  return registry.recipientFromUri(uri);
}

export function identityFromUri(uri: string): Promise<Identity> {
  return registry.identityFromUri(uri);
}

/**
 * `rewrap --remove URI`: the stanzas made by that recipient. A bare stanza type (`--remove file`)
 * removes every stanza of that type.
 */
export async function stanzaSelector(uri: string): Promise<(stanza: Stanza) => boolean> {
  if (!uri.includes(':')) return (stanza) => stanza.type === uri;
  const recipient = await recipientFromUri(uri);
  const describes = recipient.describes?.bind(recipient);
  if (!describes) throw new UsageError(`cannot tell which stanzas ${uri} made`, 'remove by stanza type instead, e.g. --remove aws-kms');
  return describes;
}
