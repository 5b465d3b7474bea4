/**
 * Property tests: any entry sizes (around segment boundaries), any recipient set, any input and
 * source kind, any chunking, inline or worker decryption: open gives back the exact bytes, and
 * only a recipient opens.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  LIMITS,
  open,
  openEntry,
  openStream,
  seal,
  sealToBuffer,
  verify,
  type ContainerSource,
  type EntryRole,
  type SealEntryInput,
} from '@ovseal/container';
import { bytesEqual, chunked, drain, expectOvsealError, pseudoRandomBytes, testKey, withTempDir } from './helpers.js';

const SEG = LIMITS.minSegmentSize;
const ROLES: EntryRole[] = ['xml', 'weights', 'onnx', 'blob', 'aux'];

const sizeArb = fc.oneof(
  fc.constantFrom(0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG - 1, 2 * SEG, 2 * SEG + 1, 5 * SEG + 3),
  fc.integer({ min: 0, max: 6 * SEG }),
);
const chunkSizesArb = fc.array(fc.integer({ min: 0, max: 3 * SEG }), { minLength: 1, maxLength: 5 });

const entryArb = fc.record({
  size: sizeArb,
  role: fc.constantFrom(...ROLES),
  input: fc.constantFrom<'data' | 'stream' | 'path'>('data', 'stream', 'path'),
  chunks: chunkSizesArb,
});

const caseArb = fc.record({
  entries: fc.array(entryArb, { minLength: 1, maxLength: 4 }),
  recipientCount: fc.integer({ min: 1, max: 4 }),
  /** Indices into recipients + 2 strangers, in the order the identities are passed. */
  openers: fc.shuffledSubarray([0, 1, 2, 3, 4, 5], { minLength: 1, maxLength: 4 }),
  sealTo: fc.constantFrom<'file' | 'buffer'>('file', 'buffer'),
  source: fc.constantFrom<'path' | 'bytes' | 'stream'>('path', 'bytes', 'stream'),
  sourceChunks: fc.array(fc.integer({ min: 1, max: 5 * SEG }), { minLength: 1, maxLength: 4 }),
  workers: fc.constantFrom(0, 2),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const seen = new Set<string>();

async function runCase(dir: string, c: Case): Promise<void> {
  const keys = Array.from({ length: 6 }, () => testKey());
  const recipients = keys.slice(0, c.recipientCount).map((k) => k.recipient);
  const identities = c.openers.map((i) => keys[i]!.identity);
  const canOpen = c.openers.some((i) => i < c.recipientCount);
  seen
    .add(`workers=${c.workers}`)
    .add(`source=${c.source}`)
    .add(`sealTo=${c.sealTo}`)
    .add(canOpen ? 'opens' : 'refused');
  for (const e of c.entries) seen.add(`input=${e.input}`);

  const plaintexts = c.entries.map((e, i) => pseudoRandomBytes(e.size, c.seed * 31 + i));
  const inputs: SealEntryInput[] = [];
  for (const [i, e] of c.entries.entries()) {
    const name = `dir${i % 2}/entry-${i}.bin`;
    const data = plaintexts[i]!;
    if (e.input === 'data') inputs.push({ name, role: e.role, data });
    else if (e.input === 'stream')
      inputs.push({ name, role: e.role, stream: chunked(data, e.chunks), ...(i % 2 ? { size: data.length } : {}) });
    else {
      const path = join(dir, `in-${i}`);
      await writeFile(path, data);
      inputs.push({ name, role: e.role, path });
    }
  }

  const containerPath = join(dir, 'c.ovseal');
  const options = { entries: inputs, metadata: { name: 'prop', version: String(c.seed) }, recipients, segmentSize: SEG };
  let bytes: Uint8Array;
  if (c.sealTo === 'file') {
    const info = await seal({ output: containerPath, ...options });
    bytes = await readFile(containerPath);
    expect(bytes.length).toBe(info.totalSize);
  } else {
    bytes = await sealToBuffer(options);
    await writeFile(containerPath, bytes);
  }

  const source = (): ContainerSource =>
    c.source === 'path' ? containerPath : c.source === 'bytes' ? bytes : chunked(bytes, c.sourceChunks);

  if (!canOpen) {
    await expectOvsealError(open(source(), { identities, workers: c.workers }), ['ERR_NO_MATCHING_KEY']);
    return;
  }
  const opened = await open(source(), { identities, workers: c.workers });
  expect(opened.entries.map((e) => e.data.length)).toEqual(plaintexts.map((p) => p.length));
  opened.entries.forEach((entry, i) => {
    expect(entry.name).toBe(inputs[i]!.name);
    expect(entry.role).toBe(inputs[i]!.role);
    expect(bytesEqual(entry.data, plaintexts[i]!)).toBe(true);
  });
  const entries = opened.entries;
  opened.dispose();
  expect(entries.every((entry) => entry.data.every((b) => b === 0))).toBe(true);
  expect(
    entries.every(
      (entry) =>
        entry.data.buffer instanceof ArrayBuffer && entry.data.byteOffset === 0 && entry.data.byteLength === entry.data.buffer.byteLength,
    ),
  ).toBe(true);

  // Random access to one entry, and the streaming reader.
  const pick = c.seed % c.entries.length;
  const randomSource = c.source === 'path' ? containerPath : bytes;
  expect(bytesEqual(await openEntry(randomSource, inputs[pick]!.name, { identities, workers: c.workers }), plaintexts[pick]!)).toBe(true);
  const chunks = await drain(openStream(source(), { identities }));
  plaintexts.forEach((plain, i) => {
    const mine = chunks.filter((chunk) => chunk.entry.name === inputs[i]!.name);
    expect(mine.at(-1)!.last).toBe(true);
    expect(mine.map((m) => m.offset)).toEqual(mine.map((_, s) => s * SEG));
    expect(bytesEqual(Buffer.concat(mine.map((m) => m.data)), plain)).toBe(true);
  });
  const verified = await verify(source(), { identities });
  expect(verified.decrypted).toBe(true);
}

describe('properties', () => {
  test('round trip: any sizes, recipients, inputs, sources, chunking, inline or workers', async () => {
    await withTempDir(async (dir) => {
      await fc.assert(
        fc.asyncProperty(caseArb, async (c) => runCase(dir, c)),
        { numRuns: 60 },
      );
    });
    // The generator must have reached every branch (else the property says less than it seems).
    for (const branch of [
      'workers=0',
      'workers=2',
      'source=path',
      'source=bytes',
      'source=stream',
      'sealTo=file',
      'sealTo=buffer',
      'opens',
      'refused',
      'input=data',
      'input=stream',
      'input=path',
    ]) {
      expect(seen, branch).toContain(branch);
    }
  });

  test('every boundary size, alone and together, through every source, inline and with workers', async () => {
    const sizes = [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 1];
    await withTempDir(async (dir) => {
      for (const workers of [0, 2] as const) {
        await runCase(dir, {
          entries: sizes.map((size, i) => ({ size, role: ROLES[i % ROLES.length]!, input: 'data', chunks: [1000] })),
          recipientCount: 1,
          openers: [0],
          sealTo: 'file',
          source: 'stream',
          sourceChunks: [777, SEG + 16, 1],
          workers,
          seed: 7,
        });
        for (const source of ['path', 'bytes'] as const) {
          await runCase(dir, {
            entries: sizes.map((size) => ({ size, role: 'aux', input: 'stream', chunks: [0, SEG, 5] })),
            recipientCount: 2,
            openers: [5, 1],
            sealTo: 'buffer',
            source,
            sourceChunks: [SEG],
            workers,
            seed: 8,
          });
        }
      }
    });
  });

  test('several recipients: each one alone opens, a stranger gets ERR_NO_MATCHING_KEY', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 3 * SEG }), async (count, size) => {
        const keys = Array.from({ length: count }, () => testKey());
        const data = pseudoRandomBytes(size, size);
        const bytes = await sealToBuffer({
          entries: [{ name: 'm.onnx', role: 'onnx', data }],
          metadata: { name: 'm', version: '1' },
          recipients: keys.map((k) => k.recipient),
          segmentSize: SEG,
        });
        for (const key of keys) {
          const opened = await open(bytes, { identities: [key.identity], workers: 0 });
          expect(bytesEqual(opened.get('m.onnx'), data)).toBe(true);
        }
        const strangers = [testKey().identity, testKey().identity];
        const error = await expectOvsealError(open(bytes, { identities: strangers }), ['ERR_NO_MATCHING_KEY']);
        expect((error as unknown as { stanzaTypes: string[] }).stanzaTypes).toEqual(['test-kek']);
      }),
      { numRuns: 15 },
    );
  });
});
