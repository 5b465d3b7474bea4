// Parts of the runner that need no TPM and no broker: they always run.
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWrapContext, generateSigningKey } from '@ovseal/container';
import { TpmEcdhRecipient } from '@ovseal/key-tpm';
import { drawTextImage, FileDeviceKey, findTextBoxes, loadRunnerConfig } from '../src/index.js';
import { downloadResumable } from '../src/lib/download.js';
import { decodeTensor } from '../src/lib/tensor-json.js';
import { serveFile } from '../../key-broker/src/lib/serve-file.js';
import { plainDetector, tempDir } from './helpers.js';

describe('file device key', () => {
  it('unwraps what TpmEcdhRecipient wraps to its public key (the tpm-ecdh wire format), and nothing else', async () => {
    const dir = await tempDir('ovseal-filekey-');
    try {
      const key = await FileDeviceKey.generate(join(dir.path, 'device.pem'));
      expect((await stat(join(dir.path, 'device.pem'))).mode & 0o777).toBe(0o600);
      const dataKey = randomBytes(32);
      const context = createWrapContext({ containerId: randomBytes(16), modelName: 'm', modelVersion: '1' });
      const recipient = new TpmEcdhRecipient(key.publicKeyPem);
      expect(recipient.keyId).toBe(key.keyId);
      const stanzas = await recipient.wrap(dataKey, context);
      expect(Buffer.from((await key.unwrap(stanzas, context))!)).toEqual(dataKey);
      const otherContext = createWrapContext({ containerId: randomBytes(16), modelName: 'm', modelVersion: '1' });
      await expect(key.unwrap(stanzas, otherContext)).rejects.toMatchObject({ code: 'ERR_AUTHENTICATION_FAILED' });
      const other = await FileDeviceKey.generate(join(dir.path, 'other.pem'));
      await expect(other.unwrap(stanzas, context)).resolves.toBeNull();
      const again = await FileDeviceKey.fromFile(join(dir.path, 'device.pem'));
      expect(again.keyId).toBe(key.keyId);
      await writeFile(join(dir.path, 'open.pem'), await readFile(join(dir.path, 'device.pem')), { mode: 0o644 });
      await expect(FileDeviceKey.fromFile(join(dir.path, 'open.pem'))).rejects.toMatchObject({ code: 'ERR_DEVICE_KEY' });
    } finally {
      await dir.remove();
    }
  });
});

describe('resumable download', () => {
  let server: Server;
  let base: string;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const content = randomBytes(300_000);
  const etag = `"${createHash('sha256').update(content).digest('hex')}"`;
  const ranges: (string | undefined)[] = [];

  beforeAll(async () => {
    dir = await tempDir('ovseal-download-');
    await writeFile(join(dir.path, 'served.bin'), content);
    server = createServer((req, res) => {
      ranges.push(req.headers.range);
      void serveFile(req, res, join(dir.path, 'served.bin'), etag);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await dir.remove();
  });

  it('resumes an interrupted download with Range + If-Range and checks the digest', async () => {
    const dest = join(dir.path, 'resumed.bin');
    await writeFile(`${dest}.part`, content.subarray(0, 123_456));
    await writeFile(`${dest}.part.json`, JSON.stringify({ etag }));
    const result = await downloadResumable({ url: `${base}/c`, dest, size: content.length, etag });
    expect(result).toEqual({ resumedFrom: 123_456, bytes: content.length - 123_456 });
    expect(ranges.at(-1)).toBe('bytes=123456-');
    expect(Buffer.compare(await readFile(dest), content)).toBe(0);
  });

  it('starts over when the partial file belongs to another version', async () => {
    const dest = join(dir.path, 'other.bin');
    await writeFile(`${dest}.part`, randomBytes(1000));
    await writeFile(`${dest}.part.json`, JSON.stringify({ etag: '"old"' }));
    expect((await downloadResumable({ url: `${base}/c`, dest, size: content.length, etag })).resumedFrom).toBe(0);
    expect(Buffer.compare(await readFile(dest), content)).toBe(0);
  });

  it('refuses bytes that do not match the digest', async () => {
    const dest = join(dir.path, 'bad.bin');
    await expect(downloadResumable({ url: `${base}/c`, dest, size: content.length, etag: `"${'0'.repeat(64)}"` })).rejects.toMatchObject({
      code: 'ERR_DOWNLOAD',
    });
  });
});

type Rect = { x0: number; y0: number; x1: number; y1: number };
function iou(a: Rect, b: Rect): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) + 1;
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) + 1;
  const inter = Math.max(0, w) * Math.max(0, h);
  const area = (r: Rect) => (r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1);
  return inter / (area(a) + area(b) - inter);
}

describe('demo image and text boxes', () => {
  it('the plain PP-OCRv4 detector finds each drawn line of block letters', async () => {
    const image = drawTextImage(320, 128, [
      { text: 'OVSEAL', x: 16, y: 16 },
      { text: 'EDGE DEMO 42', x: 16, y: 72 },
    ]);
    expect(image.dims).toEqual([1, 3, 128, 320]);
    const boxes = findTextBoxes(await plainDetector(image), image.width, image.height);
    expect(boxes).toHaveLength(2);
    boxes.forEach((box, index) => expect(iou(box, image.lines[index]!)).toBeGreaterThan(0.6));
  });
});

describe('inputs', () => {
  it('checks tensor shapes and lengths before allocating', () => {
    expect(() => decodeTensor('x', { type: 'float32', dims: [1, 2], data: [1] }, 100)).toThrow(/data has 1 values/);
    expect(() => decodeTensor('x', { type: 'float32', dims: [1000, 1000], data: [] }, 100)).toThrow(/over the limit/);
    expect(() => decodeTensor('x', { type: 'float16', dims: [1], data: [1] }, 100)).toThrow(/type must be/);
    expect(
      Array.from(
        decodeTensor('x', { type: 'float32', dims: [2], base64: Buffer.from(new Float32Array([1.5, 2]).buffer).toString('base64') }, 100)
          .data as Float32Array,
      ),
    ).toEqual([1.5, 2]);
  });

  it('reads a config file and refuses a bad one', async () => {
    const dir = await tempDir('ovseal-config-');
    try {
      const path = join(dir.path, 'edge.json');
      await writeFile(join(dir.path, 'publisher.pem.pub'), generateSigningKey().publicKeyPem);
      await writeFile(
        path,
        JSON.stringify({
          deviceId: 'edge-1',
          brokerUrl: 'http://127.0.0.1:1/',
          dataDir: 'data',
          deviceKey: { kind: 'tpm', keyDir: 'key', tcti: 'swtpm:port=2321' },
          trust: ['publisher.pem.pub'],
        }),
      );
      const config = await loadRunnerConfig(path);
      expect(config).toMatchObject({
        brokerUrls: ['http://127.0.0.1:1'],
        dataDir: join(dir.path, 'data'),
        deviceKey: { kind: 'tpm', type: 'tpm-ecdh', keyDir: join(dir.path, 'key') },
        pollSeconds: 30,
        runtime: 'auto',
      });
      await writeFile(path, JSON.stringify({ deviceId: 'edge 1', brokerUrl: 'x', dataDir: 'd', deviceKey: { kind: 'file', path: 'k' } }));
      await expect(loadRunnerConfig(path)).rejects.toMatchObject({ code: 'ERR_RUNNER_CONFIG' });
      const base = { deviceId: 'edge-1', dataDir: 'd', deviceKey: { kind: 'file', path: 'k' }, trust: ['publisher.pem.pub'] };
      await writeFile(path, JSON.stringify({ ...base, brokerUrls: ['https://a.example:8640/', 'https://b.example:8640'] }));
      expect((await loadRunnerConfig(path)).brokerUrls).toEqual(['https://a.example:8640', 'https://b.example:8640']);
      for (const bad of [
        { brokerUrls: [] },
        { brokerUrls: ['ftp://a'] },
        { brokerUrls: 'https://a' },
        { brokerUrl: 'https://a', brokerUrls: ['https://b'] },
        {},
      ]) {
        await writeFile(path, JSON.stringify({ ...base, ...bad }));
        await expect(loadRunnerConfig(path), JSON.stringify(bad)).rejects.toMatchObject({
          code: 'ERR_RUNNER_CONFIG',
          message: expect.stringMatching(/brokerUrl/),
        });
      }
    } finally {
      await dir.remove();
    }
  });
});
