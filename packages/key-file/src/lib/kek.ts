import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { AuthenticationFailedError, unwrapMatching, type Stanza, type WrapContext } from '@ovseal/container';

/**
 * The symmetric key-encryption-key stanza shared by `file` and `env` (docs/FORMAT.md §5.1):
 * body = nonce(12) ‖ AES-256-GCM(HKDF(kek, "ovseal/v1 kek wrap"), nonce, dataKey, aad = context) ‖ tag(16).
 * The stanza type records where the sealer took the key from; either identity opens both.
 */
export const KEK_STANZA_TYPES = ['file', 'env'] as const;
export type KekStanzaType = (typeof KEK_STANZA_TYPES)[number];
export const KEK_LENGTH = 32;

function wrappingKey(kek: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', kek, new Uint8Array(0), 'ovseal/v1 kek wrap', 32));
}

/** 16 hex digits naming a key without revealing it. */
export function kekId(kek: Uint8Array): string {
  return createHash('sha256').update('ovseal/v1 kek id\n').update(kek).digest('hex').slice(0, 16);
}

export function wrapWithKek(type: KekStanzaType, kek: Uint8Array, dataKey: Uint8Array, context: WrapContext): Stanza {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey(kek), nonce);
  cipher.setAAD(context.aad);
  const body = Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
  return { type, args: [kekId(kek)], body };
}

/** Opens one stanza of this key; a wrong length or a failed tag is a tampered or moved stanza. */
function unwrapOne(kek: Uint8Array, stanza: Stanza, context: WrapContext): Uint8Array {
  if (stanza.body.length !== 12 + 32 + 16) throw new AuthenticationFailedError();
  const decipher = createDecipheriv('aes-256-gcm', wrappingKey(kek), stanza.body.subarray(0, 12));
  decipher.setAAD(context.aad);
  decipher.setAuthTag(stanza.body.subarray(44));
  const dataKey = decipher.update(stanza.body.subarray(12, 44));
  try {
    decipher.final();
    return dataKey;
  } catch {
    dataKey.fill(0);
    throw new AuthenticationFailedError();
  }
}

/**
 * Unwraps this key's stanza (docs/FORMAT.md §5.1) through the container's `unwrapMatching`: stanzas
 * of another key id are not ours (null); a stanza with our key id that fails to decrypt was
 * tampered with or moved from another container, an authentication failure, not "no match".
 */
export function unwrapWithKek(kek: Uint8Array, stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
  const id = kekId(kek);
  return unwrapMatching(stanzas, context, {
    // docs/FORMAT.md R-KEY-1: the type, exactly one argument, and our key id.
    keyOf: (s) => ((KEK_STANZA_TYPES as readonly string[]).includes(s.type) && s.args.length === 1 && s.args[0] === id ? id : null),
    unwrapOne: async (s, ctx) => unwrapOne(kek, s, ctx),
  });
}
