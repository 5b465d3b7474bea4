import type { WireStanza } from './types.js';

/** A stanza as `@ovseal/container` holds it (the same shape, declared here: this package depends on nothing). */
export interface Stanza {
  readonly type: string;
  readonly args: readonly string[];
  readonly body: Uint8Array;
}

/**
 * A stanza as JSON (body in base64), and back. Stanzas are public header material: they are safe to
 * log length-wise, store and send; only the key that unwraps them is secret.
 *
 * @example
 * ```ts
 * const wire = stanzaToJson(stanza);
 * const again = stanzaFromJson(JSON.parse(JSON.stringify(wire)));
 * ```
 */
export function stanzaToJson(stanza: Stanza): WireStanza {
  return { type: stanza.type, args: [...stanza.args], body: Buffer.from(stanza.body).toString('base64') };
}

/**
 * The inverse of {@link stanzaToJson}; throws a TypeError on anything that is not a stanza.
 *
 * @example
 * ```ts
 * const stanza = stanzaFromJson(release.stanza);
 * ```
 */
export function stanzaFromJson(value: unknown): { type: string; args: string[]; body: Uint8Array } {
  const candidate = value as Partial<WireStanza> | null;
  if (
    !candidate ||
    typeof candidate.type !== 'string' ||
    !Array.isArray(candidate.args) ||
    !candidate.args.every((arg) => typeof arg === 'string') ||
    typeof candidate.body !== 'string'
  ) {
    throw new TypeError('not a stanza: expected { type, args: string[], body: base64 }');
  }
  return { type: candidate.type, args: [...candidate.args], body: new Uint8Array(Buffer.from(candidate.body, 'base64')) };
}
