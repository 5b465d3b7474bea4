import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDirectory } from './sync-directory.js';
import { temporaryPathFor } from './temporary-path-for.js';

/** Options of {@link withAtomicFile} and `writeFileAtomic`. */
export interface AtomicFileOptions {
  /** File mode of the new file (default 0o600: owner only). */
  readonly mode?: number;
  /**
   * `true` (default): replace an existing file (rename). `false`: never replace one — the file is
   * linked into place, and an existing target fails with Node's `EEXIST` error (keys, journals).
   */
  readonly overwrite?: boolean;
}

/**
 * Creates `path` so that it appears whole or not at all, written by `write` through a file handle
 * (for output streamed in pieces): a temporary sibling file is written, flushed (fsync), renamed
 * over `path` (or linked, with `overwrite: false`), and the directory flushed so the rename survives
 * a power cut. On any failure the temporary file is removed and `path` is untouched; the error
 * (Node's own, or what `write` threw) is passed on.
 *
 * @example
 * ```ts
 * await withAtomicFile('model.ovseal', async (file) => {
 *   await file.write(header, 0, header.length, 0);
 * });
 * ```
 */
export async function withAtomicFile<T>(
  path: string,
  write: (file: FileHandle) => Promise<T>,
  options: AtomicFileOptions = {},
): Promise<T> {
  const temporary = temporaryPathFor(path);
  const file = await open(temporary, 'wx', options.mode ?? 0o600);
  let closed = false;
  try {
    const result = await write(file);
    await file.sync();
    closed = true;
    await file.close();
    if (options.overwrite === false) {
      // link() fails if the target exists: nothing is ever silently replaced.
      await link(temporary, path);
      await unlink(temporary);
    } else {
      await rename(temporary, path);
    }
    await syncDirectory(dirname(path));
    return result;
  } catch (error) {
    if (!closed) await file.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
