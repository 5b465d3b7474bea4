import { readFile, stat } from 'node:fs/promises';
import { KeyFileError } from './errors.js';
import { parseKeyFileText } from './lib/key-text.js';

/**
 * Reads a key file. A file readable by group or others is refused (like ssh and age do), because
 * a key-encryption key shared that way is no longer a secret.
 *
 * @example
 * ```ts
 * const key = await readKeyFile('model.key');
 * ```
 */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (cause) {
    throw new KeyFileError('ERR_KEY_NOT_FOUND', `cannot read key file ${path}: ${(cause as Error).message}`, { cause });
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new KeyFileError('ERR_KEY_PERMISSIONS', `key file ${path} is readable by others (mode ${(mode & 0o777).toString(8)})`, {
      hint: `restrict it to its owner: chmod 600 ${path}`,
    });
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new KeyFileError(
      'ERR_KEY_IO',
      `cannot read key file ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
      { cause },
    );
  }
  return parseKeyFileText(text, path);
}
