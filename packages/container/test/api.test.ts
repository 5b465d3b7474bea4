/** openStream, inspect, and the API's behaviour at its edges (arguments, missing files, providers). */
import { createReadStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  AuthenticationFailedError,
  createWrapContext,
  DEFAULT_SEGMENT_SIZE,
  inspect,
  LIMITS,
  open,
  openEntry,
  openStream,
  OvsealError,
  seal,
  sealToBuffer,
  verify,
  type ContainerSource,
  type EntryRole,
  type Identity,
  type PlaintextChunk,
} from '@ovseal/container';
import {
  bytesEqual,
  chunked,
  drain,
  expectOvsealError,
  pseudoRandomBytes,
  STANZA_TYPE,
  testKey,
  TestRecipient,
  withTempDir,
} from './helpers.js';

const SEG = LIMITS.minSegmentSize;
const A = pseudoRandomBytes(4 * SEG + 123, 41);
const B = pseudoRandomBytes(SEG, 42);
const C = new Uint8Array(0);

async function threeEntries(extra: Partial<Parameters<typeof sealToBuffer>[0]> = {}) {
  const key = testKey();
  const bytes = await sealToBuffer({
    entries: [
      { name: 'weights/a.bin', role: 'weights', data: A },
      { name: 'model.xml', role: 'xml', data: B },
      { name: 'labels.txt', role: 'aux', data: C },
    ],
    metadata: { name: 'det', version: '4.0.0' },
    recipients: [key.recipient],
    segmentSize: SEG,
    ...extra,
  });
  return { key, bytes };
}

describe('openStream', () => {
  test('chunks concatenate to each entry, in order, with offsets and last flags, for every source', async () => {
    const { key, bytes } = await threeEntries();
    await withTempDir(async (dir) => {
      const path = join(dir, 'c.ovseal');
      await writeFile(path, bytes);
      const sources: ContainerSource[] = [path, bytes, chunked(bytes, [1, 4111, 9000]), createReadStream(path, { highWaterMark: 5000 })];
      for (const source of sources) {
        const progress: [number, number][] = [];
        const chunks: PlaintextChunk[] = await drain(
          openStream(source, { identities: [key.identity], onProgress: (done, total) => progress.push([done, total]) }),
        );
        expect(chunks.map((c) => c.entry.name)).toEqual([...Array(5).fill('weights/a.bin'), 'model.xml', 'labels.txt']);
        const by = (name: string) => chunks.filter((c) => c.entry.name === name);
        expect(bytesEqual(Buffer.concat(by('weights/a.bin').map((c) => c.data)), A)).toBe(true);
        expect(bytesEqual(Buffer.concat(by('model.xml').map((c) => c.data)), B)).toBe(true);
        expect(by('labels.txt')).toEqual(
          [{ entry: { name: 'labels.txt', role: 'aux', size: 0 }, offset: 0, data: new Uint8Array(0), last: true }].map((c) => ({
            ...c,
            data: expect.any(Uint8Array),
          })),
        );
        expect(by('weights/a.bin').map((c) => [c.offset, c.last])).toEqual([
          [0, false],
          [SEG, false],
          [2 * SEG, false],
          [3 * SEG, false],
          [4 * SEG, true],
        ]);
        expect(chunks[0]!.entry).toEqual({ name: 'weights/a.bin', role: 'weights', size: A.length });
        // Progress only grows, and ends at the payload size.
        for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);
        expect(progress.at(-1)![0]).toBe(progress.at(-1)![1]);
      }
    });
  });

  test('stopping early is fine (the source is released)', async () => {
    const { key, bytes } = await threeEntries();
    for await (const chunk of openStream(bytes, { identities: [key.identity] })) {
      expect(chunk.offset).toBe(0);
      break;
    }
  });
});

describe('inspect', () => {
  test('reads everything a header holds without a key, from every source', async () => {
    const { key, bytes } = await threeEntries({ metadata: { name: 'det', version: '4.0.0', notAfter: new Date('2035-05-05T00:00:00Z') } });
    await withTempDir(async (dir) => {
      const path = join(dir, 'c.ovseal');
      await writeFile(path, bytes);
      for (const source of [path, bytes, chunked(bytes, [100])] as ContainerSource[]) {
        const info = await inspect(source);
        expect(info.formatVersion).toBe(1);
        expect(info.containerId).toMatch(/^[0-9a-f]{32}$/);
        expect(info.metadata).toMatchObject({
          name: 'det',
          version: '4.0.0',
          format: 'openvino-ir',
          notAfter: new Date('2035-05-05T00:00:00Z'),
        });
        expect(Math.abs(info.metadata.createdAt.getTime() - Date.now())).toBeLessThan(600_000);
        expect(info.entries).toEqual([
          { name: 'weights/a.bin', role: 'weights', size: A.length },
          { name: 'model.xml', role: 'xml', size: B.length },
          { name: 'labels.txt', role: 'aux', size: 0 },
        ]);
        expect(info.segmentSize).toBe(SEG);
        expect(info.recipients).toEqual([{ type: STANZA_TYPE, args: [key.identity.keyId] }]);
        expect(info.signature).toBeNull();
        expect(info.totalSize).toBe(bytes.length);
        expect(info.payloadOffset % 4096).toBe(0);
        expect(info.payloadDigest).toMatch(/^[0-9a-f]{64}$/);
      }
      expect(key.identity.calls).toBe(0);
    });
  });

  test.each([
    [['xml', 'weights'], 'openvino-ir'],
    [['onnx', 'aux'], 'onnx'],
    [['blob'], 'openvino-blob'],
    [['aux'], 'other'],
  ] as [EntryRole[], string][])('the format is inferred from the roles %j → %s', async (roles, format) => {
    const { recipient } = testKey();
    const bytes = await sealToBuffer({
      entries: roles.map((role, i) => ({ name: `e${i}`, role, data: new Uint8Array(i) })),
      metadata: { name: 'm', version: '1' },
      recipients: [recipient],
    });
    const info = await inspect(bytes);
    expect(info.metadata.format).toBe(format);
    expect(info.segmentSize).toBe(DEFAULT_SEGMENT_SIZE);
  });

  test('garbage is not a container', async () => {
    await expectOvsealError(inspect(new Uint8Array(100)), ['ERR_MALFORMED_HEADER']);
    await expectOvsealError(inspect(Buffer.from('hello world, this is not an ovseal container')), ['ERR_MALFORMED_HEADER']);
    await expectOvsealError(inspect(new Uint8Array(3)), ['ERR_TRUNCATED', 'ERR_MALFORMED_HEADER']);
  });
});

describe('arguments and errors', () => {
  test('entries are found by name; unknown names are ERR_ENTRY_NOT_FOUND', async () => {
    const { key, bytes } = await threeEntries();
    const opened = await open(bytes, { identities: [key.identity] });
    expect(bytesEqual(opened.get('model.xml'), B)).toBe(true);
    expect(() => opened.get('nope')).toThrowError(expect.objectContaining({ code: 'ERR_ENTRY_NOT_FOUND' }));
    await expectOvsealError(openEntry(bytes, 'nope', { identities: [key.identity] }), ['ERR_ENTRY_NOT_FOUND']);
    expect(bytesEqual(await openEntry(bytes, 'labels.txt', { identities: [key.identity] }), C)).toBe(true);
  });

  test('dispose zeroes the plaintext', async () => {
    const { key, bytes } = await threeEntries();
    const opened = await open(bytes, { identities: [key.identity] });
    const views = opened.entries.map((entry) => entry.data);
    opened.dispose();
    for (const view of views) expect(view.every((byte) => byte === 0)).toBe(true);
  });

  test('use after dispose is ERR_DISPOSED, not zeros; dispose is idempotent; `using` disposes', async () => {
    const { key, bytes } = await threeEntries();
    const opened = await open(bytes, { identities: [key.identity] });
    opened.dispose();
    opened.dispose();
    expect(() => opened.get('model.xml')).toThrowError(expect.objectContaining({ code: 'ERR_DISPOSED', name: 'DisposedError' }));
    expect(() => opened.entries).toThrowError(expect.objectContaining({ code: 'ERR_DISPOSED' }));
    expect(opened.info.metadata.name).toBe('det');

    let view: Uint8Array;
    {
      using scoped = await open(bytes, { identities: [key.identity] });
      view = scoped.get('model.xml');
      expect(bytesEqual(view, B)).toBe(true);
    }
    expect(view.every((byte) => byte === 0)).toBe(true);
  });

  test('openEntry needs random access; sources must be a path, bytes or an async iterable', async () => {
    const { key, bytes } = await threeEntries();
    await expectOvsealError(openEntry(chunked(bytes) as unknown as Uint8Array, 'model.xml', { identities: [key.identity] }), [
      'ERR_INVALID_ARGUMENT',
    ]);
    await expectOvsealError(open(42 as unknown as Uint8Array, { identities: [key.identity] }), ['ERR_INVALID_ARGUMENT']);
    await expectOvsealError(inspect(null as unknown as Uint8Array), ['ERR_INVALID_ARGUMENT']);
  });

  test('a missing container file is ERR_IO; a failing stream is ERR_IO', async () => {
    await expectOvsealError(open('/nonexistent/dir/c.ovseal', { identities: [testKey().identity] }), ['ERR_IO']);
    await expectOvsealError(inspect('/nonexistent/c.ovseal'), ['ERR_IO']);
    const failing = (async function* () {
      yield new Uint8Array(10);
      throw new Error('connection reset');
    })();
    await expectOvsealError(inspect(failing), ['ERR_IO']);
  });

  test.each([
    ['no recipients', { recipients: [] }],
    ['no entries', { entries: [] }],
    [
      'duplicate entry names',
      {
        entries: [
          { name: 'a', role: 'aux', data: A },
          { name: 'a', role: 'aux', data: B },
        ],
      },
    ],
    ['an absolute entry name', { entries: [{ name: '/etc/passwd', role: 'aux', data: A }] }],
    ['a ".." entry name', { entries: [{ name: 'x/../../y', role: 'aux', data: A }] }],
    ['an empty path segment', { entries: [{ name: 'x//y', role: 'aux', data: A }] }],
    ['a backslash', { entries: [{ name: 'x\\y', role: 'aux', data: A }] }],
    ['a control character', { entries: [{ name: 'x\ny', role: 'aux', data: A }] }],
    ['an empty name', { entries: [{ name: '', role: 'aux', data: A }] }],
    ['two inputs for one entry', { entries: [{ name: 'a', role: 'aux', data: A, path: '/etc/hostname' }] }],
    ['no input for an entry', { entries: [{ name: 'a', role: 'aux' }] }],
    ['a size that does not match the stream', { entries: [{ name: 'a', role: 'aux', stream: chunked(A), size: A.length + 1 }] }],
    ['a segment size below the minimum', { segmentSize: SEG - 1 }],
    ['a segment size above the maximum', { segmentSize: LIMITS.maxSegmentSize + 1 }],
    ['an empty model name', { metadata: { name: '', version: '1' } }],
    ['an empty model version', { metadata: { name: 'm', version: '' } }],
    ['an unknown format', { metadata: { name: 'm', version: '1', format: 'tflite' } }],
  ] as [string, object][])('seal refuses %s (ERR_INVALID_ARGUMENT) and leaves no file behind', async (_name, override) => {
    const { recipient } = testKey();
    await withTempDir(async (dir) => {
      const options = {
        output: join(dir, 'c.ovseal'),
        entries: [{ name: 'a', role: 'aux' as const, data: A }],
        metadata: { name: 'm', version: '1' },
        recipients: [recipient],
        segmentSize: SEG,
        ...override,
      } as Parameters<typeof seal>[0];
      await expectOvsealError(seal(options), ['ERR_INVALID_ARGUMENT']);
      await expectOvsealError(
        sealToBuffer({ ...options, entries: options.entries.map((e) => (e.stream ? { ...e, stream: chunked(A) } : e)) }),
        ['ERR_INVALID_ARGUMENT'],
      );
      expect(await readdir(dir)).toEqual([]);
    });
  });

  test('seal from a missing input file is ERR_IO and leaves no file behind', async () => {
    const { recipient } = testKey();
    await withTempDir(async (dir) => {
      await expectOvsealError(
        seal({
          output: join(dir, 'c.ovseal'),
          entries: [{ name: 'a', role: 'aux', path: join(dir, 'missing.bin') }],
          metadata: { name: 'm', version: '1' },
          recipients: [recipient],
        }),
        ['ERR_IO'],
      );
      expect(await readdir(dir)).toEqual([]);
      await expectOvsealError(
        seal({
          output: join(dir, 'no/such/dir/c.ovseal'),
          entries: [{ name: 'a', role: 'aux', data: A }],
          metadata: { name: 'm', version: '1' },
          recipients: [recipient],
        }),
        ['ERR_IO'],
      );
    });
  });

  test('seal over an existing file replaces it whole; progress is reported', async () => {
    const key = testKey();
    await withTempDir(async (dir) => {
      const output = join(dir, 'c.ovseal');
      await writeFile(output, 'old content');
      const progress: number[] = [];
      const info = await seal({
        output,
        entries: [{ name: 'a', role: 'aux', data: A }],
        metadata: { name: 'm', version: '1' },
        recipients: [key.recipient],
        segmentSize: SEG,
        onProgress: (done) => progress.push(done),
      });
      expect(progress.at(-1)).toBe(A.length);
      expect((await readFile(output)).length).toBe(info.totalSize);
      expect(bytesEqual((await open(output, { identities: [key.identity] })).get('a'), A)).toBe(true);
      expect(await readdir(dir)).toEqual(['c.ovseal']);
    });
  });

  test('a sealed container never contains the data key or the plaintext', async () => {
    const key = testKey();
    let dataKey: Uint8Array | undefined;
    const spy = {
      async wrap(dk: Uint8Array, ctx: ReturnType<typeof createWrapContext>) {
        dataKey = Uint8Array.from(dk);
        return key.recipient.wrap(dk, ctx);
      },
    };
    const bytes = Buffer.from(
      await sealToBuffer({
        entries: [{ name: 'a', role: 'aux', data: A }],
        metadata: { name: 'm', version: '1' },
        recipients: [spy],
        segmentSize: SEG,
      }),
    );
    expect(dataKey).toHaveLength(32);
    expect(bytes.indexOf(Buffer.from(dataKey!))).toBe(-1);
    expect(bytes.indexOf(Buffer.from(A.subarray(0, 32)))).toBe(-1);
  });
});

describe('identities', () => {
  test('identities are tried in order; "not mine" moves on; a fatal error is reported only if nobody opens', async () => {
    const { key, bytes } = await threeEntries();
    const fatal: Identity = {
      async unwrap() {
        throw new OvsealError('ERR_KMS_ACCESS_DENIED', 'access denied');
      },
    };
    const notMine: Identity = { unwrap: async () => null };
    expect((await open(bytes, { identities: [notMine, fatal, key.identity] })).entries).toHaveLength(3);
    await expectOvsealError(open(bytes, { identities: [notMine, fatal] }), ['ERR_KMS_ACCESS_DENIED']);
    await expectOvsealError(open(bytes, { identities: [notMine] }), ['ERR_NO_MATCHING_KEY']);
  });

  test('an identity that returns a wrong data key gets ERR_AUTHENTICATION_FAILED (key commitment)', async () => {
    const { bytes } = await threeEntries();
    for (const wrong of [new Uint8Array(32), pseudoRandomBytes(32, 9), new Uint8Array(16)]) {
      await expectOvsealError(open(bytes, { identities: [{ unwrap: async () => Uint8Array.from(wrong) }] }), ['ERR_AUTHENTICATION_FAILED']);
    }
  });

  test('stanzas of unknown types are skipped, not fatal', async () => {
    const key = testKey();
    const unknown = new TestRecipient(testKey().kek, { stanzaType: 'some-future-provider' });
    const bytes = await sealToBuffer({
      entries: [{ name: 'a', role: 'aux', data: A }],
      metadata: { name: 'm', version: '1' },
      recipients: [unknown, key.recipient],
    });
    expect((await inspect(bytes)).recipients.map((r) => r.type)).toEqual(['some-future-provider', STANZA_TYPE]);
    expect(bytesEqual((await open(bytes, { identities: [key.identity] })).get('a'), A)).toBe(true);
  });

  test('the wrap context binds the container id, model name and version', async () => {
    const contexts: ReturnType<typeof createWrapContext>[] = [];
    const spy = {
      async wrap(_dk: Uint8Array, ctx: ReturnType<typeof createWrapContext>) {
        contexts.push(ctx);
        return [{ type: 'spy', args: [], body: new Uint8Array(1) }];
      },
    };
    const info = await inspect(
      await sealToBuffer({ entries: [{ name: 'a', role: 'aux', data: A }], metadata: { name: 'det', version: '4' }, recipients: [spy] }),
    );
    expect(contexts).toHaveLength(1);
    expect(Buffer.from(contexts[0]!.containerId).toString('hex')).toBe(info.containerId);
    expect(contexts[0]!.encryptionContext).toEqual({
      'ovseal:container-id': info.containerId,
      'ovseal:model': 'det',
      'ovseal:version': '4',
    });
    const again = createWrapContext({ containerId: contexts[0]!.containerId, modelName: 'det', modelVersion: '4' });
    expect(bytesEqual(again.aad, contexts[0]!.aad)).toBe(true);
    const other = createWrapContext({ containerId: contexts[0]!.containerId, modelName: 'det', modelVersion: '5' });
    expect(bytesEqual(other.aad, contexts[0]!.aad)).toBe(false);
    expect(() => createWrapContext({ containerId: new Uint8Array(15), modelName: 'a', modelVersion: 'b' })).toThrowError(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });

  test('errors are OvsealError subclasses with stable codes', () => {
    const error = new AuthenticationFailedError();
    expect(error).toBeInstanceOf(OvsealError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ERR_AUTHENTICATION_FAILED');
    expect(error.name).toBe('AuthenticationFailedError');
  });

  test('verify with identities checks every tag without keeping plaintext', async () => {
    const { key, bytes } = await threeEntries();
    const result = await verify(bytes, { identities: [key.identity] });
    expect(result).toMatchObject({ decrypted: true, signature: null });
    expect(result.info.entries).toHaveLength(3);
  });
});

describe('sizes at the limits (seal side)', () => {
  test('unicode names; longest names accepted, one byte more refused', async () => {
    const key = testKey();
    // 1024 bytes in segments of at most 255 bytes (four of 254 bytes of "é", then "/abcd").
    const longName = `${Array.from({ length: 4 }, () => 'é'.repeat(127)).join('/')}/abcd`;
    expect(Buffer.byteLength(longName)).toBe(LIMITS.maxEntryNameLength);
    const modelName = 'м'.repeat(LIMITS.maxModelNameLength / 2);
    const version = 'v'.repeat(LIMITS.maxModelVersionLength);
    const entries = [
      { name: 'модель/веса.bin', role: 'weights' as const, data: A },
      { name: '模型.xml', role: 'xml' as const, data: B },
      { name: '🦊 labels.txt', role: 'aux' as const, data: C },
      { name: longName, role: 'aux' as const, data: B },
    ];
    const bytes = await sealToBuffer({ entries, metadata: { name: modelName, version }, recipients: [key.recipient], segmentSize: SEG });
    const opened = await open(bytes, { identities: [key.identity] });
    expect(opened.entries.map((e) => e.name)).toEqual(entries.map((e) => e.name));
    entries.forEach((entry) => expect(bytesEqual(opened.get(entry.name), entry.data)).toBe(true));
    expect(opened.info.metadata).toMatchObject({ name: modelName, version });
    const tooLong = [
      { entries: [{ name: `${longName}x`, role: 'aux' as const, data: A }], metadata: { name: 'm', version: '1' } },
      { entries, metadata: { name: `${modelName}x`, version: '1' } },
      { entries, metadata: { name: 'm', version: `${version}x` } },
      { entries: [{ name: `docs/${'é'.repeat(128)}/a`, role: 'aux' as const, data: A }], metadata: { name: 'm', version: '1' } },
    ];
    for (const options of tooLong) {
      await expectOvsealError(sealToBuffer({ ...options, recipients: [key.recipient] }), ['ERR_INVALID_ARGUMENT']);
    }
  });

  test(`${LIMITS.maxEntries} entries and ${LIMITS.maxRecipients} recipients are accepted; one more is refused`, async () => {
    const keys = Array.from({ length: LIMITS.maxRecipients }, () => testKey());
    const entries = Array.from({ length: LIMITS.maxEntries }, (_, i) => ({
      name: `e/${i}`,
      role: 'aux' as const,
      data: A.subarray(i, i + (i % 7)),
    }));
    const bytes = await sealToBuffer({
      entries,
      metadata: { name: 'm', version: '1' },
      recipients: keys.map((k) => k.recipient),
      segmentSize: SEG,
    });
    const info = await inspect(bytes);
    expect(info.entries).toHaveLength(LIMITS.maxEntries);
    expect(info.recipients).toHaveLength(LIMITS.maxRecipients);
    const opened = await open(bytes, { identities: [keys.at(-1)!.identity] });
    entries.forEach((entry, i) => expect(bytesEqual(opened.entries[i]!.data, entry.data)).toBe(true));
    expect(bytesEqual(await openEntry(bytes, 'e/1023', { identities: [keys[0]!.identity] }), entries[1023]!.data)).toBe(true);
    await expectOvsealError(
      sealToBuffer({
        entries: [...entries, { name: 'one-more', role: 'aux', data: A }],
        metadata: { name: 'm', version: '1' },
        recipients: [keys[0]!.recipient],
      }),
      ['ERR_INVALID_ARGUMENT'],
    );
    await expectOvsealError(
      sealToBuffer({
        entries: entries.slice(0, 1),
        metadata: { name: 'm', version: '1' },
        recipients: [...keys, testKey()].map((k) => k.recipient),
      }),
      ['ERR_INVALID_ARGUMENT'],
    );
  });

  test('a stream that reuses one buffer for every chunk seals correctly; progress has no total for streams', async () => {
    const key = testKey();
    async function* reusing() {
      const buffer = new Uint8Array(1000);
      for (let offset = 0; offset < A.length; offset += buffer.length) {
        const n = Math.min(buffer.length, A.length - offset);
        buffer.set(A.subarray(offset, offset + n));
        yield buffer.subarray(0, n);
        buffer.fill(0xee);
      }
    }
    const totals: (number | null)[] = [];
    const bytes = await sealToBuffer({
      entries: [{ name: 'a', role: 'aux', stream: reusing() }],
      metadata: { name: 'm', version: '1' },
      recipients: [key.recipient],
      segmentSize: SEG,
      onProgress: (_done, total) => totals.push(total),
    });
    expect(bytesEqual((await open(bytes, { identities: [key.identity] })).get('a'), A)).toBe(true);
    expect(totals.length).toBeGreaterThan(0);
    expect(totals.every((t) => t === null)).toBe(true);
  });

  test('a failing input stream: typed error, no container written', async () => {
    const key = testKey();
    await withTempDir(async (dir) => {
      const failing = (async function* () {
        yield A.subarray(0, 5000);
        throw new Error('disk on fire');
      })();
      const error = await expectOvsealError(
        seal({
          output: join(dir, 'c.ovseal'),
          entries: [{ name: 'a', role: 'aux', stream: failing }],
          metadata: { name: 'm', version: '1' },
          recipients: [key.recipient],
          segmentSize: SEG,
        }),
      );
      expect(error.code).toBe('ERR_IO');
      expect(await readdir(dir)).toEqual([]);
    });
  });
});
