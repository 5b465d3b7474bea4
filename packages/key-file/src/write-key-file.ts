import { writeFileAtomic } from '@ovseal/atomic-file';
import { KeyFileError } from './errors.js';
import { keyFileText } from './lib/key-text.js';

/**
 * Writes a key file readable by its owner only (mode 0600). It never overwrites an existing file,
 * and appears whole or not at all (temporary file, fsync, exclusive link, directory fsync).
 *
 * @example
 * ```ts
 * await writeKeyFile('model.key', generateKey());
 * ```
 */
export async function writeKeyFile(path: string, key: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, keyFileText(key), { mode: 0o600, overwrite: false });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError('ERR_KEY_EXISTS', `${path} already exists; refusing to overwrite a key`, {
        cause,
        hint: 'choose another path or remove the old key first',
      });
    }
    throw new KeyFileError(
      'ERR_KEY_IO',
      `cannot write key file ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
      { cause },
    );
  }
}
