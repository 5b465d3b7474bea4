/**
 * The parallel decryptor on a payload large enough for many tasks (above the automatic threshold),
 * for every source: exact bytes, and tampering caught wherever the bad segment lands.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateSigningKey, open, openEntry, sealToBuffer, verify, type ContainerSource } from '@ovseal/container';
import { bytesEqual, expectOvsealError, testKey } from './helpers.js';
import { headerOf } from './forge.js';

const MiB = 1024 * 1024;
const BIG = randomBytes(36 * MiB + 5);
const SMALL = randomBytes(1000);
const key = testKey();
const publisher = generateSigningKey();
const trust = { publicKeys: [publisher.publicKeyPem] };
let bytes: Uint8Array;
let dir: string;
let path: string;

/**
 * A stream of 256 KiB chunks. Whether workers ran is proved by workers.test.ts (threads counted),
 * not steered here with a pause: these tests hold whichever thread decrypts a segment.
 */
async function* slowStart(source: Uint8Array, chunk = 256 * 1024): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < source.length; offset += chunk) {
    yield source.subarray(offset, offset + chunk);
  }
}

beforeAll(async () => {
  bytes = await sealToBuffer({
    entries: [
      { name: 'model.xml', role: 'xml', data: SMALL },
      { name: 'model.bin', role: 'weights', data: BIG },
    ],
    metadata: { name: 'big', version: '1' },
    recipients: [key.recipient],
    signer: publisher.privateKeyPem,
  });
  dir = await mkdtemp(join(tmpdir(), 'ovseal-parallel-'));
  path = join(dir, 'big.ovseal');
  await writeFile(path, bytes);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parallel decryption', () => {
  const sources: [string, () => ContainerSource][] = [
    ['path', () => path],
    ['bytes', () => bytes],
    ['stream', () => slowStart(bytes)],
  ];

  /** A plain ArrayBuffer of its own, which N-API addons and `new Response(view)` accept. */
  const expectPlainMemory = (view: Uint8Array, what: string) => {
    expect(view.buffer, what).toBeInstanceOf(ArrayBuffer);
    expect(view.byteOffset, what).toBe(0);
    expect(view.byteLength, what).toBe(view.buffer.byteLength);
  };

  test.each([undefined, 0, 1, 2])('workers: %s, exact bytes in plain memory from every source', async (workers) => {
    for (const [kind, source] of sources) {
      const opened = await open(source(), { identities: [key.identity], trust, workers });
      expect(bytesEqual(opened.get('model.bin'), BIG), kind).toBe(true);
      expect(bytesEqual(opened.get('model.xml'), SMALL), kind).toBe(true);
      for (const entry of opened.entries) expectPlainMemory(entry.data, `${kind} ${entry.name}`);
      await new Response(opened.get('model.bin')).arrayBuffer();
      opened.dispose();
    }
  });

  test('sharedMemory: the workers write SharedArrayBuffer outputs, exact bytes from every source', async () => {
    for (const [kind, source] of sources) {
      const opened = await open(source(), { identities: [key.identity], trust, workers: 2, sharedMemory: true });
      expect(bytesEqual(opened.get('model.bin'), BIG), kind).toBe(true);
      expect(bytesEqual(opened.get('model.xml'), SMALL), kind).toBe(true);
      expect(opened.get('model.bin').buffer, kind).toBeInstanceOf(SharedArrayBuffer);
      opened.dispose();
    }
  });

  test('openEntry and verify with workers', async () => {
    expect(bytesEqual(await openEntry(path, 'model.bin', { identities: [key.identity], trust, workers: 2 }), BIG)).toBe(true);
    expect(bytesEqual(await openEntry(bytes, 'model.xml', { identities: [key.identity], trust, workers: 2 }), SMALL)).toBe(true);
    expect((await verify(path, { identities: [key.identity], trust })).decrypted).toBe(true);
  });

  test.each([
    ['the first segment of the big entry', (h: ReturnType<typeof headerOf>) => h.payloadOffset + SMALL.length + 16 + 10],
    ['a middle segment', () => bytes.length >> 1],
    ['the last byte (last tag)', () => bytes.length - 1],
  ])('a flipped bit in %s: ERR_AUTHENTICATION_FAILED with workers, for every source', async (_name, where) => {
    const tampered = Uint8Array.from(bytes);
    tampered[where(headerOf(bytes))]! ^= 0x10;
    const tamperedPath = join(dir, 'tampered.ovseal');
    await writeFile(tamperedPath, tampered);
    for (const source of [() => tamperedPath, () => tampered, () => slowStart(tampered)] as (() => ContainerSource)[]) {
      await expectOvsealError(open(source(), { identities: [key.identity], workers: 2 }), ['ERR_AUTHENTICATION_FAILED']);
      await expectOvsealError(open(source(), { identities: [key.identity], workers: 2, sharedMemory: true }), [
        'ERR_AUTHENTICATION_FAILED',
      ]);
    }
    await expectOvsealError(verify(tamperedPath, { identities: [key.identity] }), ['ERR_AUTHENTICATION_FAILED']);
    await expectOvsealError(verify(tamperedPath), ['ERR_SIGNATURE_INVALID']);
  });

  test('a stream cut short or extended: ERR_TRUNCATED with workers', async () => {
    await expectOvsealError(open(slowStart(bytes.subarray(0, bytes.length - 4 * MiB)), { identities: [key.identity], workers: 2 }), [
      'ERR_TRUNCATED',
    ]);
    await expectOvsealError(open(slowStart(Buffer.concat([bytes, Buffer.of(0)])), { identities: [key.identity], workers: 2 }), [
      'ERR_TRUNCATED',
    ]);
  });
});
