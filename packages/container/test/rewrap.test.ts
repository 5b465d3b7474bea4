/** rewrap: recipients added or removed by rewriting the header only. */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { inspect, LIMITS, open, rewrap, seal, verify } from '@ovseal/container';
import {
  bytesEqual,
  FAR_FUTURE,
  expectOvsealError,
  pseudoRandomBytes,
  testKey,
  TestIdentity,
  TestRecipient,
  withTempDir,
} from './helpers.js';

const SEG = LIMITS.minSegmentSize;
const WEIGHTS = pseudoRandomBytes(5 * SEG + 3, 31);
const XML = pseudoRandomBytes(700, 32);

async function sealed(dir: string, recipients: TestRecipient[], extra: { signer?: string } = {}) {
  const path = join(dir, 'm.ovseal');
  const info = await seal({
    output: path,
    entries: [
      { name: 'model.xml', role: 'xml', data: XML },
      { name: 'model.bin', role: 'weights', data: WEIGHTS },
    ],
    metadata: { name: 'm', version: '3', notAfter: FAR_FUTURE },
    recipients,
    segmentSize: SEG,
    ...extra,
  });
  return { path, info, bytes: await readFile(path) };
}

async function expectOpens(path: string, identity: TestIdentity) {
  const opened = await open(path, { identities: [identity] });
  expect(bytesEqual(opened.get('model.xml'), XML)).toBe(true);
  expect(bytesEqual(opened.get('model.bin'), WEIGHTS)).toBe(true);
  opened.dispose();
}

describe('rewrap', () => {
  test('in place: adding a recipient rewrites the header only, the payload is unchanged byte for byte', async () => {
    const first = testKey();
    const second = testKey();
    await withTempDir(async (dir) => {
      const { path, info, bytes } = await sealed(dir, [first.recipient]);
      const result = await rewrap(path, { identities: [first.identity], add: [second.recipient] });
      expect(result).toMatchObject({ added: 1, removed: 0, inPlace: true });
      const after = await readFile(path);
      expect(after.length).toBe(bytes.length);
      expect(after.subarray(info.payloadOffset).equals(bytes.subarray(info.payloadOffset))).toBe(true);
      expect(after.subarray(0, info.payloadOffset).equals(bytes.subarray(0, info.payloadOffset))).toBe(false);
      expect(result.info.payloadOffset).toBe(info.payloadOffset);
      expect(result.info.recipients.map((r) => r.args[0])).toEqual([first.identity.keyId, second.identity.keyId]);
      // Everything but the recipients stays as sealed.
      const { recipients: _before, ...kept } = info;
      const { recipients: _after, ...now } = await inspect(path);
      expect(now).toEqual(kept);
      await expectOpens(path, first.identity);
      await expectOpens(path, second.identity);
      expect((await verify(path, { identities: [second.identity] })).decrypted).toBe(true);
      // No temporary file is left next to the container.
      expect(await readdir(dir)).toEqual(['m.ovseal']);
    });
  });

  test('in place: removing a recipient locks it out, payload unchanged', async () => {
    const first = testKey();
    const second = testKey();
    await withTempDir(async (dir) => {
      const { path, info, bytes } = await sealed(dir, [first.recipient, second.recipient]);
      const result = await rewrap(path, { identities: [second.identity], remove: (stanza) => stanza.args[0] === first.identity.keyId });
      expect(result).toMatchObject({ added: 0, removed: 1, inPlace: true });
      const after = await readFile(path);
      expect(after.subarray(info.payloadOffset).equals(bytes.subarray(info.payloadOffset))).toBe(true);
      await expectOvsealError(open(path, { identities: [first.identity] }), ['ERR_NO_MATCHING_KEY']);
      await expectOpens(path, second.identity);
    });
  });

  test('in place: a shrinking header leaves zero padding (the reader checks it)', async () => {
    const bulky = new TestRecipient(testKey().kek, { padArgs: 3 });
    const small = testKey();
    await withTempDir(async (dir) => {
      const { path, info } = await sealed(dir, [bulky, small.recipient]);
      const result = await rewrap(path, { identities: [small.identity], remove: (stanza) => stanza.args.length > 1 });
      expect(result).toMatchObject({ removed: 1, inPlace: true });
      expect(result.info.payloadOffset).toBe(info.payloadOffset);
      await expectOpens(path, small.identity);
    });
  });

  test('growing past the reserve: a new file (inPlace false) with a larger header area, which still opens', async () => {
    const first = testKey();
    const bulkyKey = testKey().kek;
    const bulky = new TestRecipient(bulkyKey, { padArgs: 7 });
    await withTempDir(async (dir) => {
      const { path, info, bytes } = await sealed(dir, [first.recipient]);
      // Two stanzas of ~7 KB each: more than the 4 KiB reserve and the alignment slack.
      const result = await rewrap(path, { identities: [first.identity], add: [bulky, new TestRecipient(testKey().kek, { padArgs: 7 })] });
      expect(result).toMatchObject({ added: 2, inPlace: false });
      expect(result.info.payloadOffset).toBeGreaterThan(info.payloadOffset);
      expect(result.info.payloadOffset % 4096).toBe(0);
      const after = await readFile(path);
      expect(after.length).toBe(result.info.totalSize);
      expect(after.subarray(result.info.payloadOffset).equals(bytes.subarray(info.payloadOffset))).toBe(true);
      await expectOpens(path, first.identity);
      await expectOpens(path, new TestIdentity(bulkyKey));
      expect(await readdir(dir)).toEqual(['m.ovseal']);
      // And the grown file can be rewrapped in place again.
      const third = testKey();
      expect((await rewrap(path, { identities: [first.identity], add: [third.recipient] })).inPlace).toBe(true);
      await expectOpens(path, third.identity);
    });
  });

  test('to a new output: the original is untouched, the copy opens for the new recipient', async () => {
    const first = testKey();
    const second = testKey();
    await withTempDir(async (dir) => {
      const { path, bytes } = await sealed(dir, [first.recipient]);
      const output = join(dir, 'device.ovseal');
      const result = await rewrap(path, { identities: [first.identity], add: [second.recipient], remove: () => true, output });
      expect(result).toMatchObject({ added: 1, removed: 1, inPlace: false });
      expect((await readFile(path)).equals(bytes)).toBe(true);
      await expectOpens(output, second.identity);
      await expectOvsealError(open(output, { identities: [first.identity] }), ['ERR_NO_MATCHING_KEY']);
      expect((await stat(output)).size).toBe(result.info.totalSize);
    });
  });

  test('refuses to remove every recipient (ERR_INVALID_ARGUMENT), leaving the file as it was', async () => {
    const first = testKey();
    await withTempDir(async (dir) => {
      const { path, bytes } = await sealed(dir, [first.recipient]);
      await expectOvsealError(rewrap(path, { identities: [first.identity], remove: () => true }), ['ERR_INVALID_ARGUMENT']);
      await expectOvsealError(rewrap(path, { identities: [first.identity], remove: () => true, output: join(dir, 'x.ovseal') }), [
        'ERR_INVALID_ARGUMENT',
      ]);
      expect((await readFile(path)).equals(bytes)).toBe(true);
      expect(await readdir(dir)).toEqual(['m.ovseal']);
    });
  });

  test('needs an identity that opens the container now', async () => {
    const first = testKey();
    const stranger = testKey();
    await withTempDir(async (dir) => {
      const { path, bytes } = await sealed(dir, [first.recipient]);
      await expectOvsealError(rewrap(path, { identities: [stranger.identity], add: [stranger.recipient] }), ['ERR_NO_MATCHING_KEY']);
      await expectOvsealError(rewrap(path, { identities: [], add: [stranger.recipient] }), ['ERR_INVALID_ARGUMENT']);
      expect((await readFile(path)).equals(bytes)).toBe(true);
      // A header whose MAC does not verify is not rewrapped (and so not re-MACed into validity).
      const tampered = Buffer.from(bytes);
      tampered[100]! ^= 1; // inside the payload digest
      const tamperedPath = join(dir, 'tampered.ovseal');
      await writeFile(tamperedPath, tampered);
      await expectOvsealError(rewrap(tamperedPath, { identities: [first.identity], add: [stranger.recipient] }), [
        'ERR_AUTHENTICATION_FAILED',
      ]);
      expect((await readFile(tamperedPath)).equals(tampered)).toBe(true);
    });
  });

  test('stanzas of unknown providers are kept through a rewrap', async () => {
    const first = testKey();
    const future = new TestRecipient(testKey().kek, { stanzaType: 'tpm-future' });
    await withTempDir(async (dir) => {
      const { path } = await sealed(dir, [future, first.recipient]);
      await expectOpens(path, first.identity);
      const second = testKey();
      await rewrap(path, { identities: [first.identity], add: [second.recipient] });
      expect((await inspect(path)).recipients.map((r) => r.type)).toEqual(['tpm-future', 'test-kek', 'test-kek']);
      await expectOpens(path, second.identity);
    });
  });
});

describe('rewrap journal (an interrupted in-place rewrap can be undone)', () => {
  test('a finished rewrap leaves no journal; an interrupted one is refused until recovered, then the container opens', async () => {
    const owner = testKey();
    await withTempDir(async (dir) => {
      const { path, bytes } = await sealed(dir, [owner.recipient]);
      await rewrap(path, { identities: [owner.identity], add: [testKey().recipient] });
      expect((await readdir(dir)).sort()).toEqual(['m.ovseal']);

      // Simulate a crash in the middle of the header write: the journal (the old header area) was
      // saved, the header in the file is torn.
      const before = await readFile(path);
      const payloadOffset = before.readUInt32BE(12);
      await writeFile(`${path}.rewrap-journal`, before.subarray(0, payloadOffset));
      const torn = Buffer.from(before);
      torn.fill(0xa5, 100, 300);
      await writeFile(path, torn);
      await expectOvsealError(open(path, { identities: [owner.identity] }));

      const refused = await expectOvsealError(rewrap(path, { identities: [owner.identity], add: [testKey().recipient] }), [
        'ERR_INVALID_ARGUMENT',
      ]);
      expect(refused.hint).toContain('--recover');
      const { recoverRewrap } = await import('@ovseal/container');
      expect(await recoverRewrap(path)).toBe(true);
      expect(await recoverRewrap(path)).toBe(false);
      expect((await readFile(path)).equals(before)).toBe(true);
      expect(bytes.subarray(payloadOffset).equals(before.subarray(payloadOffset))).toBe(true);
      await expectOpens(path, owner.identity);
    });
  });

  /** A container whose in-place rewrap was interrupted: its journal, and the container file. */
  async function interrupted(dir: string) {
    const owner = testKey();
    const { path } = await sealed(dir, [owner.recipient]);
    const good = await readFile(path);
    return { owner, path, good, payloadOffset: good.readUInt32BE(12) };
  }

  test("a journal that is not this container's header area is refused: the container is not touched (item 7)", async () => {
    await withTempDir(async (dir) => {
      const { owner, path, good, payloadOffset } = await interrupted(dir);
      const other = await seal({
        output: join(dir, 'other.ovseal'),
        entries: [
          { name: 'model.xml', role: 'xml', data: XML },
          { name: 'model.bin', role: 'weights', data: WEIGHTS },
        ],
        metadata: { name: 'm', version: '3' },
        recipients: [owner.recipient],
        segmentSize: SEG,
      });
      const otherBytes = await readFile(join(dir, 'other.ovseal'));
      const journals: [string, Uint8Array][] = [
        ['garbage', pseudoRandomBytes(payloadOffset, 77)],
        ['zeros', new Uint8Array(payloadOffset)],
        ['empty', new Uint8Array(0)],
        ['cut short', good.subarray(0, payloadOffset - 100)],
        ['too long', Buffer.concat([good.subarray(0, payloadOffset), Buffer.alloc(4096)])],
        ["another container's header area", otherBytes.subarray(0, other.payloadOffset)],
        ['a header area with non-zero padding', Buffer.concat([good.subarray(0, payloadOffset - 1), Buffer.of(1)])],
      ];
      const { recoverRewrap } = await import('@ovseal/container');
      for (const [what, journal] of journals) {
        await writeFile(`${path}.rewrap-journal`, journal);
        const error = await expectOvsealError(recoverRewrap(path), [
          'ERR_INVALID_ARGUMENT',
          'ERR_MALFORMED_HEADER',
          'ERR_LIMIT_EXCEEDED',
          'ERR_UNSUPPORTED_VERSION',
          'ERR_TRUNCATED',
        ]);
        expect(error.message, what).toMatch(/journal/);
        expect((await readFile(path)).equals(good), what).toBe(true);
        expect((await readdir(dir)).includes('m.ovseal.rewrap-journal'), what).toBe(true);
      }
      await expectOpens(path, owner.identity);
    });
  });

  test('the journal is created exclusively: a rewrap never overwrites one that appeared meanwhile', async () => {
    await withTempDir(async (dir) => {
      const { path, good, payloadOffset } = await interrupted(dir);
      const { rewriteHeaderArea } = await import('../dist/lib/io/rewrap-journal.js');
      const older = Buffer.from(good.subarray(0, payloadOffset));
      await writeFile(`${path}.rewrap-journal`, older);
      await expectOvsealError(rewriteHeaderArea(path, good.subarray(0, payloadOffset), new Uint8Array(payloadOffset)), [
        'ERR_IO',
        'ERR_INVALID_ARGUMENT',
      ]);
      expect((await readFile(`${path}.rewrap-journal`)).equals(older)).toBe(true);
      expect((await readFile(path)).equals(good)).toBe(true);
    });
  });
});
