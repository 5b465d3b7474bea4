import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ExpiredError, SignatureMissingError, SignatureUntrustedError, generateSigningKey, sealToBuffer } from '@ovseal/container';
import { openModel, type ModelSource } from '../src/index.js';
import { freshKey } from './helpers/keys.js';

const { recipient, identity } = freshKey();
const labels = new TextEncoder().encode('cat\ndog\n');
const weights = randomBytes(300_000);
let sealed: Uint8Array;
let dir: string;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  sealed = await sealToBuffer({
    entries: [
      { name: 'model.xml', role: 'xml', data: new TextEncoder().encode('<net/>') },
      { name: 'model.bin', role: 'weights', data: weights },
      { name: 'labels.txt', role: 'aux', data: labels },
    ],
    metadata: { name: 'tiny', version: '1.0.0' },
    recipients: [recipient],
    segmentSize: 65536,
  });
  dir = await mkdtemp(join(tmpdir(), 'ovseal-open-'));
  await writeFile(join(dir, 'tiny.ovseal'), sealed);
  server = createServer((request, response) => {
    if (request.url !== '/tiny.ovseal') {
      response.writeHead(404).end('not found');
      return;
    }
    // Chunked transfer, no Content-Length: the loader must stream it.
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    let offset = 0;
    const pump = () => {
      while (offset < sealed.length) {
        const chunk = sealed.subarray(offset, offset + 10_000);
        offset += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
      response.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  baseUrl = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('openModel sources', () => {
  const sources: [string, () => ModelSource][] = [
    ['a path', () => join(dir, 'tiny.ovseal')],
    ['a file: URL', () => pathToFileURL(join(dir, 'tiny.ovseal'))],
    ['a file: URL string', () => pathToFileURL(join(dir, 'tiny.ovseal')).href],
    ['a Uint8Array', () => sealed],
    ['an http URL string (streamed)', () => `${baseUrl}/tiny.ovseal`],
    ['an http URL object', () => new URL(`${baseUrl}/tiny.ovseal`)],
    ['a Node Readable', () => Readable.from(chunksOf(sealed, 7777))],
    ['a web ReadableStream', () => Readable.toWeb(Readable.from(chunksOf(sealed, 4096))) as ModelSource],
    ['an async generator', () => asyncChunks(sealed, 1)],
  ];

  test.each(sources)('opens %s', async (_, source) => {
    const model = await openModel(source(), { identities: [identity] });
    expect(model.format).toBe('openvino-ir');
    expect(model.info.metadata).toMatchObject({ name: 'tiny', version: '1.0.0' });
    expect(model.entries.map((entry) => [entry.name, entry.role])).toEqual([
      ['model.xml', 'xml'],
      ['model.bin', 'weights'],
      ['labels.txt', 'aux'],
    ]);
    expect(Buffer.from(model.get('model.bin')).equals(weights)).toBe(true);
    expect(model.get('labels.txt')).toEqual(labels);
    const held = model.get('model.bin');
    model.dispose();
    expect(held.every((byte) => byte === 0)).toBe(true);
    model.dispose();
    // Use after dispose is an error, not silently zeroed bytes.
    expect(() => model.get('model.bin')).toThrowError(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    expect(() => model.entries).toThrowError(expect.objectContaining({ code: 'ERR_DISPOSED' }));
  });

  test('`using` disposes the model at the end of the block', async () => {
    let held: Uint8Array;
    {
      using model = await openModel(sealed, { identities: [identity] });
      held = model.get('model.bin');
      expect(Buffer.from(held).equals(weights)).toBe(true);
    }
    expect(held.every((byte) => byte === 0)).toBe(true);
  });

  test('an HTTP error status is an IoError that does not leak the query string', async () => {
    const error = await openModel(`${baseUrl}/missing.ovseal?token=secret`, { identities: [identity] }).catch((e) => e);
    expect(error).toMatchObject({ code: 'ERR_IO' });
    expect(error.message).toMatch(/HTTP 404/);
    expect(error.message).not.toMatch(/secret/);
  });

  test('an unreachable host is an IoError', async () => {
    const port = await closedPort();
    await expect(openModel(`http://127.0.0.1:${port}/x.ovseal`, { identities: [identity] })).rejects.toMatchObject({
      code: 'ERR_IO',
    });
  });

  test('a stream of text is refused', async () => {
    const text = Readable.from(['not', 'bytes']);
    const error = await openModel(text, { identities: [identity] }).catch((e) => e);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  test('other URL schemes and values are refused', async () => {
    await expect(openModel(new URL('ftp://example.com/m.ovseal'), { identities: [identity] })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(openModel(42 as unknown as ModelSource, { identities: [identity] })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  test('a truncated stream releases nothing', async () => {
    const cut = sealed.subarray(0, sealed.length - 100);
    await expect(openModel(asyncChunks(cut, 3), { identities: [identity] })).rejects.toMatchObject({
      code: 'ERR_TRUNCATED',
    });
  });

  test('reports progress up to the total', async () => {
    const seen: [number, number][] = [];
    const model = await openModel(sealed, { identities: [identity], onProgress: (done, total) => seen.push([done, total]) });
    model.dispose();
    expect(seen.length).toBeGreaterThan(1);
    const dones = seen.map(([done]) => done);
    expect([...dones].sort((a, b) => a - b)).toEqual(dones);
    const [lastDone, total] = seen.at(-1)!;
    expect(lastDone).toBe(total);
    expect(total).toBeGreaterThanOrEqual(weights.length);
  });
});

describe('large payloads', () => {
  test.each([undefined, 0, 2])('a 40 MiB model streamed over HTTP (workers: %s) decrypts into plain memory', async (workers) => {
    const big = randomBytes(40 * 1024 * 1024);
    const bytes = await sealToBuffer({
      entries: [{ name: 'model.onnx', role: 'onnx', data: big }],
      metadata: { name: 'big', version: '1' },
      recipients: [recipient],
    });
    const bigServer = createServer((_, response) => {
      response.writeHead(200, { 'content-length': String(bytes.length) });
      Readable.from(chunksOf(bytes, 1 << 20)).pipe(response);
    });
    await new Promise<void>((resolve) => bigServer.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = bigServer.address() as { port: number };
      const model = await openModel(`http://127.0.0.1:${port}/big.ovseal`, { identities: [identity], workers });
      const data = model.get('model.onnx');
      // Memory every native runtime and `new Response(view)` accept, at any size and worker count.
      expect(data.buffer).toBeInstanceOf(ArrayBuffer);
      expect(data.byteLength).toBe(data.buffer.byteLength);
      expect(sha256(data)).toBe(sha256(big));
      model.dispose();
      expect(data.every((byte) => byte === 0)).toBe(true);
    } finally {
      await new Promise((resolve) => bigServer.close(resolve));
    }
  });
});

describe('cancellation', () => {
  test('an AbortSignal ends a load whose HTTP body stalls, with a typed AbortError', async () => {
    // The server sends the first megabyte, then nothing: only the signal can end the load.
    const big = await sealToBuffer({
      entries: [{ name: 'model.onnx', role: 'onnx', data: randomBytes(8 * 1024 * 1024) }],
      metadata: { name: 'stall', version: '1' },
      recipients: [recipient],
    });
    const stalling = createServer((_, response) => {
      response.writeHead(200, { 'content-length': String(big.length) });
      response.write(big.subarray(0, 1 << 20));
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = stalling.address() as { port: number };
      for (const workers of [0, 2]) {
        const controller = new AbortController();
        setTimeout(() => controller.abort(new Error('deploy cancelled')), 100);
        const error = await openModel(`http://127.0.0.1:${port}/big.ovseal`, {
          identities: [identity],
          workers,
          signal: controller.signal,
        }).catch((e) => e);
        expect(error).toMatchObject({ code: 'ERR_ABORTED', name: 'AbortError' });
      }
    } finally {
      stalling.closeAllConnections();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  test('an aborted signal refuses every source before any key is unwrapped', async () => {
    const reason = new Error('stop');
    for (const source of [sealed, join(dir, 'tiny.ovseal'), `${baseUrl}/tiny.ovseal`, Readable.from(chunksOf(sealed, 4096))]) {
      await expect(openModel(source, { identities: [identity], signal: AbortSignal.abort(reason) })).rejects.toMatchObject({
        code: 'ERR_ABORTED',
      });
    }
  });
});

describe('policy', () => {
  const publisher = generateSigningKey();
  const other = generateSigningKey('ecdsa-p256');
  const sealWith = (options: { signer?: string; notAfter?: Date }) =>
    sealToBuffer({
      entries: [{ name: 'model.onnx', role: 'onnx', data: randomBytes(1000) }],
      metadata: { name: 'signed', version: '1', ...(options.notAfter ? { notAfter: options.notAfter } : {}) },
      recipients: [recipient],
      ...(options.signer ? { signer: options.signer } : {}),
    });

  test('a signature by a trusted publisher opens', async () => {
    const bytes = await sealWith({ signer: publisher.privateKeyPem });
    const model = await openModel(bytes, { identities: [identity], trust: { publicKeys: [publisher.publicKeyPem] } });
    expect(model.info.signature?.keyId).toBe(publisher.keyId);
    model.dispose();
  });

  test('trust refuses unsigned, untrusted and tampered containers', async () => {
    const trust = { publicKeys: [publisher.publicKeyPem] };
    await expect(openModel(await sealWith({}), { identities: [identity], trust })).rejects.toBeInstanceOf(SignatureMissingError);
    await expect(openModel(await sealWith({ signer: other.privateKeyPem }), { identities: [identity], trust })).rejects.toBeInstanceOf(
      SignatureUntrustedError,
    );
    const tampered = Uint8Array.from(await sealWith({ signer: publisher.privateKeyPem }));
    tampered[tampered.length - 1]! ^= 1;
    const error = await openModel(tampered, { identities: [identity], trust }).catch((e) => e);
    expect(['ERR_AUTHENTICATION_FAILED', 'ERR_SIGNATURE_INVALID']).toContain(error.code);
  });

  test('a container past its not-after time is refused', async () => {
    const notAfter = new Date(Date.now() + 60_000);
    const bytes = await sealWith({ notAfter });
    (await openModel(bytes, { identities: [identity] })).dispose();
    const later = new Date(notAfter.getTime() + 1000);
    await expect(openModel(bytes, { identities: [identity], now: later })).rejects.toBeInstanceOf(ExpiredError);
    await expect(openModel(bytes, { identities: [identity], now: later })).rejects.toMatchObject({ code: 'ERR_EXPIRED' });
  });
});

function* chunksOf(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function* asyncChunks(bytes: Uint8Array, count: number): AsyncGenerator<Uint8Array> {
  const size = Math.ceil(bytes.length / count);
  for (const chunk of chunksOf(bytes, size)) yield chunk;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
