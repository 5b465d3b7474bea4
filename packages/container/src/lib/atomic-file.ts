import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { IoError } from '../errors.js';

/**
 * Flushes a directory's entries (a rename or an unlink in it) to disk. Best effort where the
 * platform cannot open a directory for syncing.
 */
export async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EACCES'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes a file so it appears whole or not at all: a temporary file in the same directory, flushed,
 * then renamed over the target and the directory flushed. On failure the temporary file is removed.
 */
export async function writeAtomically<T>(target: string, write: (file: FileHandle) => Promise<T>, mode = 0o644): Promise<T> {
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  let file: FileHandle;
  try {
    file = await open(temp, 'wx', mode);
  } catch (cause) {
    throw new IoError(`cannot create ${temp}: ${(cause as Error).message}`, { cause });
  }
  try {
    const result = await write(file);
    await file.sync();
    await file.close();
    await rename(temp, target);
    await syncDirectory(dirname(target));
    return result;
  } catch (error) {
    await file.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** Writes all of `bytes` at `position`. */
export async function writeFully(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
