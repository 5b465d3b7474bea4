import { randomBytes } from 'node:crypto';
import { KEK_LENGTH } from './lib/kek.js';

/**
 * Creates a random 256-bit key-encryption key.
 *
 * @example
 * ```ts
 * const key = generateKey();
 * await writeKeyFile('model.key', key);
 * ```
 */
export function generateKey(): Uint8Array {
  return randomBytes(KEK_LENGTH);
}
