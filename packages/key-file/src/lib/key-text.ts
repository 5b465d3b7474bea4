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

/** 36 bytes (key ‖ checksum) in base64url: 48 characters, never padded. */
const KEY_TEXT_BODY = /^[A-Za-z0-9_-]{48}$/;
/** 32 bytes in base64url without padding: 43 characters. */
const BARE_KEY = /^[A-Za-z0-9_-]{43}$/;

/** Strips what docs/FORMAT.md R-KT-3 strips: spaces, tabs, CRs and LFs at both ends, nothing else. */
function stripAsciiSpace(text: string): string {
  return text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

/**
 * Parses an encoded key (docs/FORMAT.md R-KT-1), or a bare base64url 32-byte key (no checksum)
 * when `allowBare` (R-KT-2: environment variables only). Strict, so that every reader takes the
 * same texts for keys: no padding, no `+` `/` alphabet, the canonical encoding only.
 */
export function decodeKey(text: string, where: string, allowBare = false): Uint8Array {
  const value = stripAsciiSpace(text);
  if (!value.startsWith(KEY_PREFIX)) {
    if (allowBare && BARE_KEY.test(value)) {
      const key = Buffer.from(value, 'base64url');
      // 43 characters carry 258 bits: the last two must be zero (one encoding per key).
      if (key.toString('base64url') === value) return key;
      throw new KeyFileError('ERR_KEY_FORMAT', `${where}: not the canonical base64url encoding of a 32-byte key`);
    }
    throw new KeyFileError('ERR_KEY_FORMAT', `${where} does not hold an ovseal key (expected a line starting with ${KEY_PREFIX})`, {
      hint: 'create a key with `ovseal keygen -o model.key`',
    });
  }
  const body = value.slice(KEY_PREFIX.length);
  const raw = KEY_TEXT_BODY.test(body) ? Buffer.from(body, 'base64url') : undefined;
  if (!raw || !checksum(raw.subarray(0, KEK_LENGTH)).equals(raw.subarray(KEK_LENGTH))) {
    throw new KeyFileError('ERR_KEY_FORMAT', `${where}: the key is damaged (bad length, characters or checksum)`);
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
  const lines = text
    .split('\n')
    .map(stripAsciiSpace)
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) {
    throw new KeyFileError('ERR_KEY_FORMAT', `${where} must hold exactly one key line, found ${lines.length}`, {
      hint: 'create a key with `ovseal keygen -o model.key`',
    });
  }
  return decodeKey(lines[0]!, where);
}
