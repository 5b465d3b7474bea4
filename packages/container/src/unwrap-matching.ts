import { MalformedHeaderError } from './errors.js';
import { enforced } from './lib/format/reader-checks.js';
import type { Stanza, WrapContext } from './types.js';

/**
 * How one identity recognises and opens its own stanzas (age's `Identity` split in two, so that the
 * loop around it is written once: {@link unwrapMatching}).
 */
export interface StanzaMatcher {
  /**
   * The key a stanza was made for, when this identity may hold that key; `null` when the stanza is
   * not this identity's ("not mine"). Called for every stanza before any is tried: it must not use
   * the key (no TPM operation, no KMS `Decrypt`; a cached alias lookup is fine).
   */
  keyOf(stanza: Stanza): string | null | Promise<string | null>;
  /**
   * Unwraps one stanza of one of this identity's keys. Returns `null` when the key turns out not to
   * be this identity's after all; throws an `OvsealError` for a fatal failure (a tampered stanza, a
   * TPM policy failure, KMS access denied).
   */
  unwrapOne(stanza: Stanza, context: WrapContext): Promise<Uint8Array | null>;
}

/**
 * The loop every provider's `Identity.unwrap` runs, in one place (docs/FORMAT.md §5):
 *
 * - stanzas whose `keyOf` is null are not this identity's: skipped, never an error;
 * - each key is tried at most once, so a crafted header cannot make a reader spend 64 KMS calls or
 *   TPM operations on one key;
 * - a key named by more than one stanza is not tried at all (a typed error), so which copy is tried
 *   never depends on the order of the stanzas;
 * - a fatal failure of one key is kept while the other keys are tried: keys are tried in the
 *   order of their names, the first one that unwraps wins, else the first failure is thrown, else
 *   `null` ("no stanza is mine").
 *
 * The outcome is therefore the same for every order of the stanzas.
 *
 * @example
 * ```ts
 * class MyIdentity implements Identity {
 *   unwrap(stanzas: readonly Stanza[], context: WrapContext) {
 *     return unwrapMatching(stanzas, context, {
 *       keyOf: (s) => (s.type === 'my-type' && s.args[0] === this.keyId ? this.keyId : null),
 *       unwrapOne: (s, ctx) => this.#decrypt(s.body, ctx), // throws AuthenticationFailedError if the tag fails
 *     });
 *   }
 * }
 * ```
 */
export async function unwrapMatching(stanzas: readonly Stanza[], context: WrapContext, matcher: StanzaMatcher): Promise<Uint8Array | null> {
  const byKey = new Map<string, Stanza[]>();
  let firstFailure: unknown;
  for (const stanza of stanzas) {
    let key: string | null;
    try {
      key = await matcher.keyOf(stanza);
    } catch (error) {
      // e.g. a KMS alias that cannot be resolved right now: another key may still unwrap.
      firstFailure ??= error;
      continue;
    }
    if (key === null) continue;
    const same = byKey.get(key);
    if (same) same.push(stanza);
    else byKey.set(key, [stanza]);
  }
  // Keys in a fixed order (not header order): which key is tried first, which one wins and which
  // failure is reported never depend on how the stanzas were arranged.
  for (const key of [...byKey.keys()].sort()) {
    const same = byKey.get(key)!;
    if (same.length > 1 && enforced('R-KEY-2')) {
      firstFailure ??= new MalformedHeaderError(
        `${same.length} recipient stanzas (${same[0]!.type}) are for the same key ${key}: none of them is tried`,
      );
      continue;
    }
    try {
      const dataKey = await matcher.unwrapOne(same[0]!, context);
      if (dataKey !== null) return dataKey;
    } catch (error) {
      firstFailure ??= error;
    }
  }
  // What the provider threw, unchanged (an OvsealError by the Identity contract).
  if (firstFailure !== undefined) throw firstFailure as Error;
  return null;
}
