import { createHash } from 'node:crypto';
import { KeyFileError } from '../errors.js';
import { KEK_LENGTH, kekId } from './kek.js';

/** Prefix of an encoded key: recognisable in a file, a variable or a secret store. */
export const KEY_PREFIX = 'OVSEAL-KEK-1-';

function checksum(key: Uint8Array): Buffer {
  return createHash('sha256').update('ovseal/v1 kek checksum\n').update(key).digest().subarray(0, 4);
}

/** `OVSEAL-KEK-1-` ‖ base64url(key ‖ 4-byte checksum). */
export function encodeKey(key: Uint8Array): string {
  return KEY_PREFIX + Buffer.concat([key, checksum(key)]).toString('base64url');
}

/** Parses an encoded key, or a bare base64url 32-byte key (no checksum) when `allowBare`. */
export function decodeKey(text: string, where: string, allowBare = false): Uint8Array {
  const value = text.trim();
  if (!value.startsWith(KEY_PREFIX)) {
    if (allowBare && /^[A-Za-z0-9_-]{43}$/.test(value)) return Buffer.from(value, 'base64url');
    throw new KeyFileError('ERR_KEY_FORMAT', `${where} does not hold an ovseal key (expected a line starting with ${KEY_PREFIX})`, {
      hint: 'create a key with `ovseal keygen -o model.key`',
    });
  }
  const raw = Buffer.from(value.slice(KEY_PREFIX.length), 'base64url');
  if (raw.length !== KEK_LENGTH + 4 || !checksum(raw.subarray(0, KEK_LENGTH)).equals(raw.subarray(KEK_LENGTH))) {
    throw new KeyFileError('ERR_KEY_FORMAT', `${where}: the key is damaged (bad length or checksum)`);
  }
  return raw.subarray(0, KEK_LENGTH);
}

/** The full text of a key file: comments, then the key line. */
export function keyFileText(key: Uint8Array, created = new Date()): string {
  return [
    '# ovseal key-encryption key: keep it secret; anyone with this file can open containers sealed to it.',
    `# created: ${created.toISOString()}`,
    `# key id: ${kekId(key)}`,
    encodeKey(key),
    '',
  ].join('\n');
}

/** The key line of a key file (comments and blank lines skipped). */
export function parseKeyFileText(text: string, where: string): Uint8Array {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) {
    throw new KeyFileError('ERR_KEY_FORMAT', `${where} must hold exactly one key line, found ${lines.length}`, {
      hint: 'create a key with `ovseal keygen -o model.key`',
    });
  }
  return decodeKey(lines[0]!, where);
}
