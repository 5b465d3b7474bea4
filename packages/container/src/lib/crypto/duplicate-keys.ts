import { InvalidArgumentError } from '../../errors.js';
import type { Recipient, Stanza } from '../../types.js';

/** Stanzas about to be written, with the recipient that made them (none for stanzas kept from a header). */
export interface StanzaGroup {
  readonly recipient?: Recipient;
  readonly stanzas: readonly Stanza[];
}

/**
 * Refuses a header in which a recipient's key would have two stanzas: readers try no stanza of a
 * key that several stanzas name (docs/FORMAT.md §5), so that key could no longer open the
 * container. Only recipients that declare `describes` can be checked.
 */
export function refuseDuplicateKeys(groups: readonly StanzaGroup[]): void {
  groups.forEach((group, index) => {
    const describes = group.recipient?.describes?.bind(group.recipient);
    if (!describes) return;
    const own = group.stanzas.filter(describes).length;
    const elsewhere = groups.some((other, j) => j !== index && other.stanzas.some(describes));
    if (own > 1 || elsewhere) {
      const type = group.stanzas[0]?.type ?? 'stanza';
      throw new InvalidArgumentError(`two recipients are the same key (${type}): a reader would try neither of its stanzas`, {
        hint: "give each key once; to replace a recipient's stanza, remove it in the same rewrap",
      });
    }
  });
}
