import type { Recipient, Stanza, WrapContext } from '@ovseal/container';
import { KEK_LENGTH, kekId, wrapWithKek, type KekStanzaType } from './lib/kek.js';
import { readKeyFile } from './read-key-file.js';
import { KeyFileError } from './errors.js';

/**
 * Wraps the data key under a 256-bit key-encryption key (stanza type `file`).
 *
 * @example
 * ```ts
 * const recipient = await FileRecipient.fromFile('model.key');
 * await seal({ output: 'm.ovseal', entries, metadata, recipients: [recipient] });
 * ```
 */
export class FileRecipient implements Recipient {
  readonly #key: Uint8Array;
  readonly keyId: string;
  protected readonly stanzaType: KekStanzaType = 'file';

  constructor(key: Uint8Array) {
    if (key.length !== KEK_LENGTH) throw new KeyFileError('ERR_KEY_FORMAT', 'a key-encryption key is 32 bytes');
    this.#key = Uint8Array.from(key);
    this.keyId = kekId(key);
  }

  static async fromFile(path: string): Promise<FileRecipient> {
    return new FileRecipient(await readKeyFile(path));
  }

  async wrap(dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]> {
    return [wrapWithKek(this.stanzaType, this.#key, dataKey, context)];
  }

  /** True for the stanzas this key made (used by `rewrap --remove`). */
  describes(stanza: Stanza): boolean {
    return (stanza.type === 'file' || stanza.type === 'env') && stanza.args[0] === this.keyId;
  }
}
