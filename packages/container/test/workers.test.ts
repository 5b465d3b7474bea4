/**
 * The parallel decryptor and the parallel sealer really run their worker threads: counted from the
 * operating system (/proc/self/task) while `onProgress` reports, not inferred from timing or from
 * the kind of memory the output lands in. Linux only (the CI machines); elsewhere the suite says
 * it skipped.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { open, openStream, seal, sealToBuffer } from '@ovseal/container';
import { bytesEqual, expectOvsealError, testKey } from './helpers.js';

const TASKS = '/proc/self/task';
const threads = () => readdirSync(TASKS).length;
const MiB = 1024 * 1024;
const BIG = randomBytes(40 * MiB + 3);
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

/**
 * Sealing moves to workers from 128 MiB of known plaintext on. The payload repeats one random MiB
 * (with an odd tail), so that its size costs memory once, not the time of 130 MiB of randomness.
 */
const SEAL_SIZE = 130 * MiB + 7;
const sealInput = (() => {
  const block = randomBytes(MiB);
  const bytes = Buffer.allocUnsafe(SEAL_SIZE);
  for (let offset = 0; offset < SEAL_SIZE; offset += MiB) block.copy(bytes, offset, 0, Math.min(MiB, SEAL_SIZE - offset));
  return bytes;
})();

describe.skipIf(!existsSync(TASKS))('sealing on worker threads (counted in /proc/self/task)', () => {
  test('a payload of 128 MiB or more is sealed with threads of its own, and opens to the same bytes', async () => {
    const before = threads();
    let peak = 0;
    const sealed = await sealToBuffer({
      entries: [{ name: 'model.bin', role: 'weights', data: sealInput }],
      metadata: { name: 'big', version: '1' },
      recipients: [key.recipient],
      onProgress: () => {
        peak = Math.max(peak, threads());
      },
    });
    expect(peak).toBeGreaterThan(before);
    expect(threads()).toBe(before);
    // Chunk by chunk against the input: whichever thread sealed a segment, it is the right one.
    let offset = 0;
    for await (const chunk of openStream(sealed, { identities: [key.identity] })) {
      expect(chunk.offset).toBe(offset);
      expect(bytesEqual(chunk.data, sealInput.subarray(offset, offset + chunk.data.length))).toBe(true);
      offset += chunk.data.length;
    }
    expect(offset).toBe(SEAL_SIZE);
  });

  test('aborting a seal on workers stops them and leaves no file', async () => {
    const before = threads();
    let peak = 0;
    const controller = new AbortController();
    const output = join(dir, 'aborted.ovseal');
    const sealing = seal({
      output,
      entries: [{ name: 'model.bin', role: 'weights', data: sealInput }],
      metadata: { name: 'big', version: '1' },
      recipients: [key.recipient],
      signal: controller.signal,
      onProgress: (done) => {
        peak = Math.max(peak, threads());
        if (done > 64 * MiB) controller.abort(new Error('stop'));
      },
    });
    await expectOvsealError(sealing, ['ERR_ABORTED']);
    expect(peak).toBeGreaterThan(before);
    expect(threads()).toBe(before);
    expect((await readdir(dir)).filter((name) => name.startsWith('aborted'))).toEqual([]);
  });
});
