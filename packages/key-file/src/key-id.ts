import { kekId } from './lib/kek.js';

/**
 * The public name of a key: 16 hex digits, written in its stanzas and its key file's comments.
 *
 * @example
 * ```ts
 * console.log(keyId(await readKeyFile('model.key')));
 * ```
 */
export function keyId(key: Uint8Array): string {
  return kekId(key);
}
