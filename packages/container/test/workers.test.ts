/**
 * The parallel decryptor really runs its worker threads: counted from the operating system
 * (/proc/self/task) while `onProgress` reports, not inferred from timing or from the kind of
 * memory the output lands in. Linux only (the CI machines); elsewhere the suite says it skipped.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { open, sealToBuffer } from '@ovseal/container';
import { bytesEqual, testKey } from './helpers.js';

const TASKS = '/proc/self/task';
const threads = () => readdirSync(TASKS).length;
const BIG = randomBytes(40 * 1024 * 1024 + 3);
const key = testKey();
let dir: string;
let path: string;

beforeAll(async () => {
  const bytes = await sealToBuffer({
    entries: [{ name: 'model.bin', role: 'weights', data: BIG }],
    metadata: { name: 'big', version: '1' },
    recipients: [key.recipient],
  });
  dir = await mkdtemp(join(tmpdir(), 'ovseal-workers-'));
  path = join(dir, 'big.ovseal');
  await writeFile(path, bytes);
  await readFile(path); // libuv's thread pool is up before any baseline is taken
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Opens with `workers` and returns the most threads this process had while progress was reported. */
async function peakThreadsDuring(workers: number): Promise<{ before: number; peak: number }> {
  const before = threads();
  let peak = 0;
  const opened = await open(path, {
    identities: [key.identity],
    workers,
    onProgress: () => {
      peak = Math.max(peak, threads());
    },
  });
  expect(bytesEqual(opened.get('model.bin'), BIG)).toBe(true);
  opened.dispose();
  return { before, peak };
}

describe.skipIf(!existsSync(TASKS))('worker threads (counted in /proc/self/task)', () => {
  test('workers: 2 decrypts with threads of its own, alive while it reports progress', async () => {
    const { before, peak } = await peakThreadsDuring(2);
    expect(peak).toBeGreaterThan(before);
  });

  test('workers: 0 starts no thread', async () => {
    const { before, peak } = await peakThreadsDuring(0);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(before);
  });
});
