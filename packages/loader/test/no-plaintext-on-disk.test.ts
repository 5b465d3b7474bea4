/**
 * Proves that loading writes no plaintext to disk: a model whose weights repeat a random marker is
 * sealed, then loaded (a file decrypted by two worker threads, asked for with `workers: 2`, and an
 * HTTP stream) and run in
 * ONNX Runtime, and an IR with the same weights is loaded into OpenVINO, compiled, exported and
 * written to the encrypted compiled-model cache; afterwards every regular file created or changed
 * under the temp dir, the working dir and HOME during the load is searched for the marker.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import * as ort from 'onnxruntime-node';
import { seal } from '@ovseal/container';
import { tinyIr } from '@ovseal/test-fixtures';
import { CompiledModelCache, loadOpenVino, openModel } from '../src/index.js';
import { loadOnnxRuntime } from '../src/onnxruntime.js';
import { freshKey } from './helpers/keys.js';
import { addModel } from './helpers/onnx-proto.js';
import { describeOpenVino } from './helpers/openvino.js';

const { recipient, identity } = freshKey();
const marker = randomBytes(32);
// 40 MiB of weights: many tasks, through worker threads (file) and the calling thread (HTTP).
const WEIGHT_BYTES = 40 * 1024 * 1024;
let dir: string;
let sealedPath: string;
let sealedIrPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovseal-noplain-'));
  const weights = Buffer.alloc(WEIGHT_BYTES);
  for (let offset = 0; offset < WEIGHT_BYTES; offset += marker.length) marker.copy(weights, offset);
  sealedPath = join(dir, 'marked.ovseal');
  await seal({
    output: sealedPath,
    entries: [{ name: 'model.onnx', role: 'onnx', data: addModel(weights) }],
    metadata: { name: 'marked', version: '1' },
    recipients: [recipient],
  });
  // The same marked weights as the constant of an OpenVINO IR (y = x + weights).
  const { xml } = tinyIr({ shape: [1, WEIGHT_BYTES / 4], addend: 0 });
  sealedIrPath = join(dir, 'marked-ir.ovseal');
  await seal({
    output: sealedIrPath,
    entries: [
      { name: 'model.xml', role: 'xml', data: new TextEncoder().encode(xml) },
      { name: 'model.bin', role: 'weights', data: weights },
    ],
    metadata: { name: 'marked-ir', version: '1', format: 'openvino-ir' },
    recipients: [recipient],
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('no file created or changed during a load contains the plaintext', async () => {
  const roots = distinctRoots([tmpdir(), process.cwd(), homedir()]);

  // Positive control: a file written in the window, holding the marker, must be found.
  const start = Date.now();
  const canary = join(dir, 'canary.bin');
  writeFileSync(canary, Buffer.concat([randomBytes(100), marker, randomBytes(100)]));
  expect(filesWithMarker(changedFilesSince(roots, start))).toContain(canary);
  rmSync(canary);

  const windowStart = Date.now();
  // the default decrypts on the calling thread on small machines: ask for workers to cover them too.
  const loaded = await loadOnnxRuntime(sealedPath, { identities: [identity], workers: 2 });
  const n = WEIGHT_BYTES / 4;
  const outputs = await loaded.session.run({ x: new ort.Tensor('float32', new Float32Array(n), [n]) });
  expect((outputs.y!.data as Float32Array).length).toBe(n);
  await loaded.dispose();

  await withHttpSource(sealedPath, async (url) => {
    const model = await openModel(url, { identities: [identity] });
    // The plaintext, marker included, exists in memory only.
    expect(Buffer.from(model.get('model.onnx').buffer).includes(marker)).toBe(true);
    model.dispose();
  });

  const changed = changedFilesSince(roots, windowStart);
  const leaks = filesWithMarker(changed);
  console.info(`no-plaintext-on-disk: searched ${changed.length} files changed under ${roots.join(', ')}`);
  expect(leaks).toEqual([]);
});

describeOpenVino('OpenVINO', (ov) => {
  test('no file created or changed during an OpenVINO load, compile, export and cache write holds the plaintext', async () => {
    const roots = distinctRoots([tmpdir(), process.cwd(), homedir()]);
    const events: string[] = [];
    const cache = new CompiledModelCache({
      dir: join(dir, 'compiled-cache'),
      recipients: [recipient],
      identities: [identity],
      onEvent: (event) => events.push(event.type),
    });
    const windowStart = Date.now();
    const options = { identities: [identity], openvino: ov, cache, config: { INFERENCE_PRECISION_HINT: 'f32' } };
    const loaded = await loadOpenVino(sealedIrPath, options);
    // The compiled model holds the weights in clear (exported to an anonymous memory file): had the
    // cache written it unsealed, the scan below would find the marker.
    const blob = loaded.compiledModel.exportModelSync();
    expect(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).includes(marker)).toBe(true);
    blob.fill(0);
    const n = WEIGHT_BYTES / 4;
    const [output] = Object.values(await loaded.compiledModel.createInferRequest().inferAsync([new Float32Array(n)]));
    expect((output!.data as Float32Array).length).toBe(n);
    loaded.dispose();
    const again = await loadOpenVino(sealedIrPath, options);
    expect(again.fromCache).toBe(true);
    again.dispose();
    expect(events).toEqual(['miss', 'stored', 'hit']);

    const changed = changedFilesSince(roots, windowStart);
    expect(changed.some((path) => path.startsWith(cache.dir))).toBe(true);
    console.info(`no-plaintext-on-disk (OpenVINO): searched ${changed.length} files changed under ${roots.join(', ')}`);
    expect(filesWithMarker(changed)).toEqual([]);
  });
});

/** Regular files under `roots` whose data or inode changed at or after `since` (symlinks not followed). */
function changedFilesSince(roots: string[], since: number): string[] {
  const threshold = since - 1000; // coarse file system clocks
  const found: string[] = [];
  const walk = (directory: string) => {
    let entries;
    try {
      entries = readdirSync(directory, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        try {
          const stats = lstatSync(path);
          if (Math.max(stats.mtimeMs, stats.ctimeMs, stats.birthtimeMs) >= threshold) found.push(path);
        } catch {
          // Deleted while walking.
        }
      }
    }
  };
  roots.forEach(walk);
  return found;
}

/** The files holding the marker, read in chunks that overlap by the marker length. */
function filesWithMarker(files: string[]): string[] {
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  return files.filter((path) => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return false;
    }
    try {
      let position = 0;
      let carried = 0;
      for (;;) {
        const read = readSync(fd, chunk, carried, chunk.length - carried, position);
        if (read === 0) return false;
        const filled = carried + read;
        if (chunk.subarray(0, filled).includes(marker)) return true;
        position += read;
        carried = Math.min(marker.length - 1, filled);
        chunk.copy(chunk, 0, filled - carried, filled);
      }
    } catch {
      return false;
    } finally {
      closeSync(fd);
    }
  });
}

/** Drops roots inside other roots, so no file is searched twice. */
function distinctRoots(paths: string[]): string[] {
  const resolved = [...new Set(paths.map((path) => resolve(path)))];
  return resolved.filter((path) => !resolved.some((other) => other !== path && path.startsWith(other + sep)));
}

async function withHttpSource(path: string, body: (url: string) => Promise<void>): Promise<void> {
  const { createReadStream } = await import('node:fs');
  const server = createServer((_, response) => {
    response.writeHead(200);
    (createReadStream(path) as Readable).pipe(response);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  try {
    const { port } = server.address() as { port: number };
    await body(`http://127.0.0.1:${port}/marked.ovseal`);
  } finally {
    await new Promise((closed) => server.close(closed));
  }
}
