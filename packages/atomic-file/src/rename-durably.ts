import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDirectory } from './sync-directory.js';

/**
 * Moves a file that was written elsewhere (a download's `.part` file, an upload) into place
 * durably: its content is flushed first, then it is renamed, then the directories are flushed, so
 * that after a power cut `to` is either absent or whole.
 *
 * @example
 * ```ts
 * await renameDurably('model.ovseal.part', 'model.ovseal');
 * ```
 */
export async function renameDurably(from: string, to: string): Promise<void> {
  const handle = await open(from, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(from, to);
  await syncDirectory(dirname(to));
  if (dirname(from) !== dirname(to)) await syncDirectory(dirname(from));
}
