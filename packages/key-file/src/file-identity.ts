import type { Identity, Stanza, WrapContext } from '@ovseal/container';
import { KEK_LENGTH, unwrapWithKek } from './lib/kek.js';
import { readKeyFile } from './read-key-file.js';
import { KeyFileError } from './errors.js';

/**
 * Unwraps `file` and `env` stanzas made with the same key-encryption key.
 *
 * @example
 * ```ts
 * const model = await open('m.ovseal', { identities: [await FileIdentity.fromFile('model.key')] });
 * ```
 */
export class FileIdentity implements Identity {
  readonly #key: Uint8Array;

  constructor(key: Uint8Array) {
    if (key.length !== KEK_LENGTH) throw new KeyFileError('ERR_KEY_FORMAT', 'a key-encryption key is 32 bytes');
    this.#key = Uint8Array.from(key);
  }

  static async fromFile(path: string): Promise<FileIdentity> {
    return new FileIdentity(await readKeyFile(path));
  }

  async unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    return unwrapWithKek(this.#key, stanzas, context);
  }
}
