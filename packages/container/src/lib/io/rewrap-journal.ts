import { randomBytes } from 'node:crypto';
import { access, link, open, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InvalidArgumentError, IoError, OvsealError } from '../../errors.js';
import { syncDirectory } from '@ovseal/atomic-file';
import { writeFully } from './atomic-file.js';
import { layoutEntries, payloadLength } from '../format/payload-layout.js';
import { LIMITS } from '../format/limits.js';
import { openReader, readHeader } from './container-reader.js';

/**
 * An in-place rewrap overwrites the header area of a file that may be gigabytes long, and that one
 * write is not atomic: a crash in the middle could tear the header and make the whole payload
 * unreadable. So the old header area is first saved beside the file (fsync'd, created exclusively),
 * the new one is written and fsync'd, and only then is the journal removed (and the directory
 * synced). A journal left behind means a rewrap was interrupted: `recoverRewrap` checks that it is
 * this file's header area and puts it back.
 */
export function journalPath(path: string): string {
  return `${path}.rewrap-journal`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
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

/**
 * Saves the old header area as the journal, whole or not at all, and never over an existing
 * journal (another rewrap's, or one not yet recovered): written to a temporary file and synced,
 * then hard-linked to the journal name, which fails if that name exists.
 */
async function createJournal(path: string, oldArea: Uint8Array): Promise<void> {
  const journal = journalPath(path);
  const temp = join(dirname(journal), `.${basename(journal)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const file = await open(temp, 'wx', 0o600);
    try {
      await writeFully(file, oldArea, 0);
      await file.sync();
    } finally {
      await file.close();
    }
    await link(temp, journal);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') await refuseIfInterrupted(path);
    throw new IoError(`cannot save the rewrap journal ${journal}: ${(cause as Error).message}`, { cause });
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dirname(journal));
}

async function removeJournal(path: string): Promise<void> {
  await unlink(journalPath(path));
  await syncDirectory(dirname(path));
}

/** Overwrites the header area in place, journaled (see above). */
export async function rewriteHeaderArea(path: string, oldArea: Uint8Array, newArea: Uint8Array): Promise<void> {
  await createJournal(path, oldArea);
  await overwriteStart(path, newArea);
  await removeJournal(path);
}

/**
 * Checks that a journal is a header area of this very file before it is written back (a garbage
 * journal, or another container's, would destroy a healthy container): it parses as a header area
 * (zero padding included) exactly as long as its own payload offset, names this file's container
 * id (the core, which a rewrap never changes, so a torn header still shows it), and describes a
 * container of this file's length.
 */
async function checkJournal(path: string, journal: Uint8Array): Promise<void> {
  const refuse = (why: string, cause?: unknown): never => {
    throw new InvalidArgumentError(`the rewrap journal ${journalPath(path)} is not a saved header area of ${path}: ${why}`, {
      ...(cause === undefined ? {} : { cause }),
      hint: `check the container with \`ovseal verify ${path}\`; if it is sound, the journal is stale: remove it`,
    });
  };
  if (journal.length > LIMITS.maxPayloadOffset) refuse(`it is ${journal.length} bytes long`);
  let header;
  const reader = openReader(journal);
  try {
    header = await readHeader(reader);
  } catch (error) {
    return refuse(error instanceof OvsealError ? error.message : 'it does not parse', error);
  } finally {
    reader.close();
  }
  if (journal.length !== header.payloadOffset) refuse(`it is ${journal.length} bytes long, its header says ${header.payloadOffset}`);
  const file = await open(path, 'r');
  try {
    const containerId = Buffer.alloc(16);
    await file.read(containerId, 0, 16, 16);
    if (!containerId.equals(header.containerId)) refuse('it belongs to another container');
    const size = (await file.stat()).size;
    const expected =
      header.payloadOffset +
      payloadLength(
        layoutEntries(
          header.entries.map((entry) => entry.size),
          header.segmentSize,
        ),
      );
    if (size !== expected) refuse(`it describes a container of ${expected} bytes, the file has ${size}`);
  } finally {
    await file.close();
  }
}

/** Restores the header area saved by an interrupted rewrap. Returns false when there is nothing to recover. */
export async function restoreHeaderArea(path: string): Promise<boolean> {
  if (!(await exists(journalPath(path)))) return false;
  const journal = await readFile(journalPath(path));
  await checkJournal(path, journal);
  await overwriteStart(path, journal);
  await removeJournal(path);
  return true;
}
