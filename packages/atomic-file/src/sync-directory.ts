import { open, type FileHandle } from 'node:fs/promises';

/** Platforms where a directory cannot be opened or flushed: the rename is atomic there anyway. */
const CANNOT_SYNC_DIRECTORY = new Set(['EISDIR', 'EINVAL', 'EPERM', 'EACCES']);

/**
 * Flushes a directory's entries (a rename, link or unlink in it) to disk, so that the change
 * survives a power cut. Best effort only where the platform cannot open a directory for syncing;
 * any other failure (an I/O error) is thrown.
 *
 * @example
 * ```ts
 * await unlink(journal);
 * await syncDirectory(dirname(journal));
 * ```
 */
export async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    if (!CANNOT_SYNC_DIRECTORY.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}
