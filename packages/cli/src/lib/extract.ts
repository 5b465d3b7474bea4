import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { OpenedEntry } from '@ovseal/container';
import { UsageError } from './output.js';

interface Target {
  readonly entry: OpenedEntry;
  readonly path: string;
}

/** lstat, or null when nothing is there. */
async function lstatOrNull(path: string) {
  return lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
}

/**
 * Checks where an entry would go, before anything is written: every component below DIR must be
 * a real directory (or not exist yet), never a symbolic link — a link inside DIR would send the
 * plaintext anywhere; the file itself must not exist (unless `force`), and never be a link or a
 * directory. Returns the directories to create.
 */
async function checkTarget(root: string, name: string, force: boolean, missing: Set<string>): Promise<string> {
  const parts = name.split('/');
  let current = root;
  for (const [index, part] of parts.entries()) {
    current = join(current, part);
    if (!current.startsWith(root + sep)) throw new UsageError(`entry ${name} would escape the output directory`);
    const last = index === parts.length - 1;
    const stats = missing.has(current) ? null : await lstatOrNull(current);
    if (stats?.isSymbolicLink())
      throw new UsageError(`${current} is a symbolic link: refusing to write through it`, 'extract into a new, empty directory');
    if (!last) {
      if (stats === null) missing.add(current);
      else if (!stats.isDirectory()) throw new UsageError(`${current} exists and is not a directory`);
    } else if (stats?.isDirectory()) {
      throw new UsageError(`${current} is a directory`);
    } else if (stats && !force) {
      throw new UsageError(`${current} exists`, 'pass --force to overwrite');
    }
  }
  return current;
}

/** Creates DIR and the directories below it, mode 0700, checking each is a real directory. */
async function makeDirectories(root: string, missing: ReadonlySet<string>, created: string[]): Promise<void> {
  // DIR and its missing parents (the user named DIR: links above it are the user's choice).
  const first = await mkdir(root, { recursive: true, mode: 0o700 });
  if (first !== undefined) {
    for (let dir = root; dir.length >= first.length; dir = dirname(dir)) created.unshift(dir);
  }
  for (const dir of [...missing].sort((a, b) => a.length - b.length)) {
    try {
      await mkdir(dir, { mode: 0o700 });
      created.push(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!(await lstat(dir)).isDirectory()) throw new UsageError(`${dir} is not a directory`);
    }
  }
}

async function writeTemp(target: Target): Promise<string> {
  const temp = join(dirname(target.path), `.ovseal-${randomBytes(6).toString('hex')}.tmp`);
  // 'wx' (O_CREAT | O_EXCL) never follows a link at the temporary name.
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(target.entry.data);
    await file.sync();
  } catch (error) {
    await file.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await file.close();
  return temp;
}

/**
 * Writes decrypted entries under `directory`: every target is checked before anything is written
 * (no symbolic link anywhere below DIR, no directory where a file goes), directories are created
 * mode 0700, each entry goes to a temporary file first, and only when all are written are they
 * renamed into place. On any failure, everything written or moved into place — and every
 * directory created — is removed: no plaintext is left behind.
 */
export async function extractEntries(
  entries: readonly OpenedEntry[],
  directory: string,
  force: boolean,
  move: (from: string, to: string) => Promise<void> = rename,
): Promise<string[]> {
  const root = resolve(directory);
  const missing = new Set<string>();
  const targets: Target[] = [];
  for (const entry of entries) targets.push({ entry, path: await checkTarget(root, entry.name, force, missing) });
  const created: string[] = [];
  const temps: string[] = [];
  const moved: string[] = [];
  try {
    await makeDirectories(root, missing, created);
    for (const target of targets) temps.push(await writeTemp(target));
    for (const [index, target] of targets.entries()) {
      await move(temps[index]!, target.path);
      moved.push(target.path);
    }
    return targets.map((target) => target.path);
  } catch (error) {
    await Promise.all([...temps, ...moved].map((path) => unlink(path).catch(() => undefined)));
    for (const dir of created.reverse()) await rmdir(dir).catch(() => undefined);
    throw error;
  }
}
