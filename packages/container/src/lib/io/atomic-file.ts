import { withAtomicFile } from '@ovseal/atomic-file';
import type { FileHandle } from 'node:fs/promises';
import { IoError, OvsealError } from '../../errors.js';

/**
 * Writes a file so it appears whole or not at all (`@ovseal/atomic-file`: temporary file, fsync,
 * rename, directory fsync). What the writer throws is passed on as it is; a failure to create,
 * flush or rename the file becomes an `IoError`.
 */
export async function writeAtomically<T>(target: string, write: (file: FileHandle) => Promise<T>, mode = 0o644): Promise<T> {
  let writerFailed = false;
  const tracked = async (file: FileHandle) => {
    try {
      return await write(file);
    } catch (error) {
      writerFailed = true;
      throw error;
    }
  };
  try {
    return await withAtomicFile(target, tracked, { mode });
  } catch (error) {
    if (writerFailed || error instanceof OvsealError) throw error;
    throw new IoError(`cannot write ${target}: ${(error as Error).message}`, { cause: error });
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
