import { randomBytes } from 'node:crypto';
import { link, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { KeyFileError } from './errors.js';
import { keyFileText } from './lib/key-text.js';

/**
 * Writes a key file readable by its owner only (mode 0600). It never overwrites an existing file,
 * and appears whole or not at all.
 *
 * @example
 * ```ts
 * await writeKeyFile('model.key', generateKey());
 * ```
 */
export async function writeKeyFile(path: string, key: Uint8Array): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let file;
  try {
    file = await open(temp, 'wx', 0o600);
  } catch (cause) {
    throw new KeyFileError('ERR_KEY_IO', `cannot write key file ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  try {
    await file.writeFile(keyFileText(key));
    await file.sync();
    await file.close();
    // link() fails if the target exists: a key is never silently replaced.
    await link(temp, path);
  } catch (cause) {
    await file.close().catch(() => undefined);
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyFileError('ERR_KEY_EXISTS', `${path} already exists; refusing to overwrite a key`, { cause, hint: 'choose another path or remove the old key first' });
    }
    throw new KeyFileError('ERR_KEY_IO', `cannot write key file ${path}: ${(cause as Error).message}`, { cause });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
