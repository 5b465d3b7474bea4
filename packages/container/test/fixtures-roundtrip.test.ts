/**
 * Byte-exact round trips of real models made by other projects' tools (../shared/fixtures, or
 * OVSEAL_FIXTURES). Nothing is copied from there into the repo: files are read in place.
 */
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';
import { inspect, open, openEntry, openStream, seal, verify, generateSigningKey, type EntryRole } from '@ovseal/container';
import { bytesEqual, drain, locateFixtures, REQUIRE_ALL, testKey, withTempDir } from './helpers.js';

interface FixtureModel {
  readonly id: string;
  readonly entries: { name: string; role: EntryRole; path: string }[];
}

function listDirs(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => statSync(join(dir, name)).isDirectory())
        .sort()
    : [];
}

function discover(root: string): FixtureModel[] {
  const models: FixtureModel[] = [];
  const irRoot = join(root, 'openvino-ir');
  for (const name of listDirs(irRoot)) {
    const dir = join(irRoot, name);
    if (!existsSync(join(dir, 'model.xml'))) continue;
    models.push({
      id: `openvino-ir/${name}`,
      entries: [
        { name: 'model.xml', role: 'xml', path: join(dir, 'model.xml') },
        { name: 'model.bin', role: 'weights', path: join(dir, 'model.bin') },
      ],
    });
  }
  const converted = join(root, 'onnx', 'pytorch-converted');
  for (const name of listDirs(converted)) {
    const dir = join(converted, name);
    if (!existsSync(join(dir, 'model.onnx'))) continue;
    const aux = listDirs(dir).flatMap((set) =>
      readdirSync(join(dir, set))
        .filter((file) => file.endsWith('.pb'))
        .sort()
        .map((file) => ({ name: `${set}/${file}`, role: 'aux' as const, path: join(dir, set, file) })),
    );
    models.push({
      id: `onnx/pytorch-converted/${name}`,
      entries: [{ name: 'model.onnx', role: 'onnx', path: join(dir, 'model.onnx') }, ...aux],
    });
  }
  const light = join(root, 'onnx', 'light');
  if (existsSync(light)) {
    for (const file of readdirSync(light)
      .filter((f) => f.endsWith('.onnx'))
      .sort()) {
      const expected = join(light, file.replace(/\.onnx$/, '_output_0.pb'));
      const entries: FixtureModel['entries'] = [{ name: file, role: 'onnx', path: join(light, file) }];
      if (existsSync(expected)) entries.push({ name: 'output_0.pb', role: 'aux', path: expected });
      models.push({ id: `onnx/light/${file}`, entries });
    }
  }
  return models;
}

const located = locateFixtures();

if (!located.dir) {
  if (REQUIRE_ALL) {
    test('real-model fixtures are present (OVSEAL_REQUIRE_ALL=1)', () => {
      throw new Error(located.message);
    });
  } else {
    console.warn(`\n*** SKIPPING real-model round trips: ${located.message} ***\n`);
    test.skip(`real-model round trips (${located.message})`, () => {});
  }
} else {
  const root = located.dir;
  const models = discover(root);

  describe(`real models from ${root}`, () => {
    test('the fixture folder holds every family of models', () => {
      const families = new Set(models.map((m) => m.id.split('/').slice(0, -1).join('/')));
      expect([...families].sort()).toEqual(['onnx/light', 'onnx/pytorch-converted', 'openvino-ir']);
      expect(models.length).toBeGreaterThan(10);
    });

    // Vary the segment size so small files span many segments in some runs and one in others.
    const segmentSizes = [4096, 65536, undefined];

    test.each(models.map((model, index) => [model.id, model, segmentSizes[index % segmentSizes.length]] as const))(
      'round trip %s',
      async (_id, model, segmentSize) => {
        const originals = model.entries.map((entry) => readFileSync(entry.path));
        const { recipient, identity } = testKey();
        await withTempDir(async (dir) => {
          const output = join(dir, 'model.ovseal');
          const sealed = await seal({
            output,
            entries: model.entries.map(({ name, role, path }) => ({ name, role, path })),
            metadata: { name: model.id, version: '1' },
            recipients: [recipient],
            segmentSize,
          });
          expect(sealed.entries.map((e) => e.size)).toEqual(originals.map((o) => o.length));
          expect(sealed.metadata.format).toBe(model.id.startsWith('openvino-ir') ? 'openvino-ir' : 'onnx');
          expect(statSync(output).size).toBe(sealed.totalSize);

          const fileBytes = readFileSync(output);
          // The plaintext must not appear in the container (a cheap sanity check on a 64-byte window).
          for (const original of originals) {
            if (original.length >= 64) expect(fileBytes.indexOf(original.subarray(0, 64))).toBe(-1);
          }

          const identities = [identity];
          const streamed = createReadStream(output, { highWaterMark: 1000 + (originals[0]!.length % 9000) });
          for (const source of [output, new Uint8Array(fileBytes), streamed]) {
            const opened = await open(source, { identities, workers: 0 });
            expect(opened.entries.map((e) => e.name)).toEqual(model.entries.map((e) => e.name));
            opened.entries.forEach((entry, i) => expect(bytesEqual(entry.data, originals[i]!), `${model.id} ${entry.name}`).toBe(true));
            opened.dispose();
          }

          for (const [i, entry] of model.entries.entries()) {
            const alone = await openEntry(output, entry.name, { identities });
            expect(bytesEqual(alone, originals[i]!)).toBe(true);
          }

          const chunks = await drain(openStream(output, { identities }));
          model.entries.forEach((entry, i) => {
            const pieces = chunks.filter((c) => c.entry.name === entry.name).map((c) => c.data);
            expect(bytesEqual(Buffer.concat(pieces), originals[i]!)).toBe(true);
          });

          const verified = await verify(output, { identities });
          expect(verified.decrypted).toBe(true);
          expect(verified.signature).toBeNull();
          const info = await inspect(output);
          expect(info.entries).toEqual(sealed.entries);
          expect(relative(dir, output)).toBe('model.ovseal');
        });
      },
    );

    test('all OpenVINO IR models, signed, opened by worker threads with a trust policy', async () => {
      const irModels = models.filter((m) => m.id.startsWith('openvino-ir/'));
      expect(irModels.length).toBeGreaterThan(0);
      const publisher = generateSigningKey('ecdsa-p256');
      const { recipient, identity } = testKey();
      await withTempDir(async (dir) => {
        const output = join(dir, 'all-ir.ovseal');
        const entries = irModels.flatMap((m) => m.entries.map((e) => ({ name: `${m.id}/${e.name}`, role: e.role, path: e.path })));
        await seal({
          output,
          entries,
          metadata: { name: 'all-ir', version: '2024.1' },
          recipients: [recipient],
          signer: publisher.privateKeyPem,
          segmentSize: 4096,
        });
        const trust = { publicKeys: [publisher.publicKeyPem] };
        for (const source of [output, new Uint8Array(readFileSync(output)), createReadStream(output, { highWaterMark: 3333 })]) {
          const opened = await open(source, { identities: [identity], trust, workers: 2 });
          entries.forEach((entry, i) => expect(bytesEqual(opened.entries[i]!.data, readFileSync(entry.path))).toBe(true));
          opened.dispose();
        }
        const verified = await verify(output, { trust });
        expect(verified.signature?.keyId).toBe(publisher.keyId);
      });
    });
  });
}
