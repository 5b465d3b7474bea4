import { access, open, readFile, unlink } from 'node:fs/promises';
import { InvalidArgumentError } from '../errors.js';
import { writeAtomically, writeFully } from './atomic-file.js';

/**
 * An in-place rewrap overwrites the header area of a file that may be gigabytes long, and that one
 * write is not atomic: a crash in the middle could tear the header and make the whole payload
 * unreadable. So the old header area is first saved beside the file (fsync'd), the new one is
 * written and fsync'd, and only then is the journal removed. A journal left behind means a rewrap
 * was interrupted: `recoverRewrap` puts the old header back.
 */
export function journalPath(path: string): string {
  return `${path}.rewrap-journal`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

export async function refuseIfInterrupted(path: string): Promise<void> {
  if (await exists(journalPath(path))) {
    throw new InvalidArgumentError(`an earlier rewrap of ${path} was interrupted (${journalPath(path)} exists)`, {
      hint: `restore the header it saved with \`ovseal rewrap --recover ${path}\``,
    });
  }
}

/** Writes `area` over the start of the file and syncs it. */
async function overwriteStart(path: string, area: Uint8Array): Promise<void> {
  const file = await open(path, 'r+');
  try {
    await writeFully(file, area, 0);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Overwrites the header area in place, journaled (see above). */
export async function rewriteHeaderArea(path: string, oldArea: Uint8Array, newArea: Uint8Array): Promise<void> {
  await writeAtomically(journalPath(path), async (journal) => writeFully(journal, oldArea, 0), 0o600);
  await overwriteStart(path, newArea);
  await unlink(journalPath(path));
}

/** Restores the header area saved by an interrupted rewrap. Returns false when there is nothing to recover. */
export async function restoreHeaderArea(path: string): Promise<boolean> {
  if (!(await exists(journalPath(path)))) return false;
  await overwriteStart(path, await readFile(journalPath(path)));
  await unlink(journalPath(path));
  return true;
}
