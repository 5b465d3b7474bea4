import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { renameDurably, syncDirectory, temporaryPathFor, withAtomicFile, writeFileAtomic } from '@ovseal/atomic-file';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovseal-atomic-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** Counts fsync calls of every file handle (files and directories alike) while `run` runs. */
async function syncsDuring(run: () => Promise<unknown>): Promise<number> {
  const probe = await open(join(dir, '.probe'), 'w');
  const prototype = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
  await probe.close();
  await rm(join(dir, '.probe'));
  const sync = vi.spyOn(prototype, 'sync');
  await run();
  const count = sync.mock.calls.length;
  sync.mockRestore();
  return count;
}

describe('writeFileAtomic', () => {
  test('writes the file owner-only by default, replaces it whole, and flushes the file and its directory', async () => {
    const path = join(dir, 'state.json');
    expect(await syncsDuring(() => writeFileAtomic(path, 'first'))).toBe(2);
    expect(await readFile(path, 'utf8')).toBe('first');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]), { mode: 0o644 });
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  test('overwrite: false never replaces a file (EEXIST) and leaves no temporary file', async () => {
    const path = join(dir, 'model.key');
    await writeFileAtomic(path, 'key one', { overwrite: false });
    await expect(writeFileAtomic(path, 'key two', { overwrite: false })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(path, 'utf8')).toBe('key one');
    expect(await readdir(dir)).toEqual(['model.key']);
  });

  test("a missing directory is Node's ENOENT, nothing created", async () => {
    await expect(writeFileAtomic(join(dir, 'no', 'such', 'file'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('withAtomicFile', () => {
  test('a failing writer leaves the old file untouched and no temporary file behind', async () => {
    const path = join(dir, 'model.ovseal');
    await writeFile(path, 'old');
    const failure = new Error('the writer failed half way');
    await expect(
      withAtomicFile(path, async (file) => {
        await file.write('half of the new ');
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['model.ovseal']);
  });

  test('returns what the writer returns, once the file is in place', async () => {
    const path = join(dir, 'out.bin');
    const result = await withAtomicFile(path, async (file) => {
      await file.write(Buffer.from('payload'), 0, 7, 3);
      await file.write(Buffer.from('hdr'), 0, 3, 0);
      return 'written';
    });
    expect(result).toBe('written');
    expect(await readFile(path, 'utf8')).toBe('hdrpayload');
  });
});

describe('renameDurably and helpers', () => {
  test('moves a finished file into place, flushing it and the directory', async () => {
    const part = join(dir, 'model.ovseal.part');
    await writeFile(part, 'downloaded');
    expect(await syncsDuring(() => renameDurably(part, join(dir, 'model.ovseal')))).toBe(2);
    expect(await readdir(dir)).toEqual(['model.ovseal']);
  });

  test('syncDirectory flushes a directory; temporaryPathFor stays beside its file', async () => {
    await syncDirectory(dir);
    const temporary = temporaryPathFor(join(dir, 'state.json'));
    expect(temporary.startsWith(join(dir, '.state.json.'))).toBe(true);
    expect(temporary).not.toBe(temporaryPathFor(join(dir, 'state.json')));
  });
});
