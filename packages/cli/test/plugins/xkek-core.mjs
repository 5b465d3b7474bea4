// A tiny third-party key provider for the plugin tests: a 256-bit key named in the URI
// (`SCHEME:HEX`), AES-256-GCM over the data key, bound to the container by the wrap context's aad.
// The package plugin (ovseal-provider-pkgkek) and the executable one (ovseal-plugin-xkek) share it.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export function keyOf(uri) {
  const key = Buffer.from(uri.slice(uri.indexOf(':') + 1), 'hex');
  if (key.length !== 32) throw Object.assign(new Error(`${uri} does not name a 32-byte hex key`), { code: 'ERR_INVALID_ARGUMENT' });
  return key;
}

export const keyIdOf = (key) => createHash('sha256').update(key).digest('hex').slice(0, 16);

export function wrap(type, key, dataKey, aad) {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
  const body = Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
  return { type, args: [keyIdOf(key)], body };
}

/** The data key; null when no stanza is this key's; throws `authentication` when one is and does not open. */
export function unwrap(type, key, stanzas, aad) {
  const ours = stanzas.filter((stanza) => stanza.type === type && stanza.args[0] === keyIdOf(key));
  if (ours.length === 0) return null;
  for (const stanza of ours) {
    const body = Buffer.from(stanza.body);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, body.subarray(0, 12)).setAAD(aad).setAuthTag(body.subarray(44));
      return Buffer.concat([decipher.update(body.subarray(12, 44)), decipher.final()]);
    } catch {
      // try the next one
    }
  }
  throw Object.assign(new Error('the stanza does not open'), { authentication: true });
}
