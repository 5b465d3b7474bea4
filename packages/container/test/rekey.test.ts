/**
 * rekey (issue 10 item 14): `rewrap --remove` keeps the data key, so a removed key still opens the
 * old header spliced back onto the file. Rekeying seals the payload again under a new data key,
 * in one streaming pass, and a removed key opens nothing of the result.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { generateSigningKey, inspect, LIMITS, open, rekey, rewrap, seal, verify } from '@ovseal/container';
import { stealDataKey } from './forge.js';
import { bytesEqual, FAR_FUTURE, expectOvsealError, pseudoRandomBytes, testKey, withTempDir } from './helpers.js';

const SEG = LIMITS.minSegmentSize;
const WEIGHTS = pseudoRandomBytes(9 * SEG + 11, 51);
const XML = pseudoRandomBytes(900, 52);
const EMPTY = new Uint8Array(0);

async function sealed(dir: string, recipients: Parameters<typeof seal>[0]['recipients'], signer?: string) {
  const path = join(dir, 'm.ovseal');
  const info = await seal({
    output: path,
    entries: [
      { name: 'model.xml', role: 'xml', data: XML },
      { name: 'model.bin', role: 'weights', data: WEIGHTS },
      { name: 'empty.txt', role: 'aux', data: EMPTY },
    ],
    metadata: { name: 'det', version: '7', notAfter: FAR_FUTURE, createdAt: new Date('2026-01-02T03:04:05Z') },
    recipients,
    segmentSize: SEG,
    ...(signer ? { signer } : {}),
  });
  return { path, info, bytes: await readFile(path) };
}

describe('rekey', () => {
  test('a new data key: the removed key opens neither the new file nor the old header spliced onto it', async () => {
    const [kept, removed] = [testKey(), testKey()];
    await withTempDir(async (dir) => {
      const { path, info, bytes } = await sealed(dir, [kept.recipient, removed.recipient]);
      // What `rewrap --remove` leaves possible: the removed key kept the old header (or the data key).
      const oldHeader = bytes.subarray(0, info.payloadOffset);
      await rewrap(path, { identities: [kept.identity], remove: (s) => s.args[0] === removed.identity.keyId });
      const spliced = Buffer.concat([oldHeader, (await readFile(path)).subarray(info.payloadOffset)]);
      expect(bytesEqual((await open(spliced, { identities: [removed.identity] })).get('model.bin'), WEIGHTS)).toBe(true);

      const result = await rekey(path, { identities: [kept.identity], recipients: [kept.recipient] });
      expect(result.info.containerId).not.toBe(info.containerId);
      expect(result.info.metadata).toEqual(info.metadata);
      expect(result.info.entries).toEqual(info.entries);
      const after = await readFile(path);
      const model = await open(path, { identities: [kept.identity] });
      expect(bytesEqual(model.get('model.xml'), XML)).toBe(true);
      expect(bytesEqual(model.get('model.bin'), WEIGHTS)).toBe(true);
      expect(model.get('empty.txt')).toHaveLength(0);
      await expectOvsealError(open(path, { identities: [removed.identity] }), ['ERR_NO_MATCHING_KEY']);
      const resplice = Buffer.concat([oldHeader, after.subarray(result.info.payloadOffset)]);
      await expectOvsealError(open(resplice, { identities: [removed.identity] }), ['ERR_AUTHENTICATION_FAILED', 'ERR_TRUNCATED']);
      // The data key the removed recipient once unwrapped is useless on the new payload.
      const oldKey = await stealDataKey(spliced, removed.identity);
      expect(Buffer.from(await stealDataKey(after, kept.identity)).equals(Buffer.from(oldKey))).toBe(false);
      expect((await readdir(dir)).sort()).toEqual(['m.ovseal']);
    });
  });

  test('signing: re-signed with the signer given (whatever seal takes), else unsigned', async () => {
    const owner = testKey();
    const publisher = generateSigningKey();
    await withTempDir(async (dir) => {
      const { path } = await sealed(dir, [owner.recipient], publisher.privateKeyPem);
      const signed = await rekey(path, {
        identities: [owner.identity],
        recipients: [owner.recipient],
        signer: publisher.privateKeyPem,
        trust: { publicKeys: [publisher.publicKeyPem] },
      });
      expect(signed.info.signature?.keyId).toBe(publisher.keyId);
      expect((await verify(path, { trust: { publicKeys: [publisher.publicKeyPem] }, identities: [owner.identity] })).decrypted).toBe(true);
      const output = join(dir, 'unsigned.ovseal');
      const unsigned = await rekey(path, { identities: [owner.identity], recipients: [owner.recipient], output });
      expect(unsigned.info.signature).toBeNull();
      expect((await inspect(output)).signature).toBeNull();
      expect((await inspect(path)).signature?.keyId).toBe(publisher.keyId);
    });
  });

  test('a source that fails authentication late leaves the file as it was and nothing beside it', async () => {
    const owner = testKey();
    const publisher = generateSigningKey();
    await withTempDir(async (dir) => {
      const { path, bytes } = await sealed(dir, [owner.recipient], publisher.privateKeyPem);
      const tampered = Buffer.from(bytes);
      tampered[tampered.length - 3]! ^= 0x01; // the last segment's tag
      await writeFile(path, tampered);
      await expectOvsealError(rekey(path, { identities: [owner.identity], recipients: [owner.recipient] }), ['ERR_AUTHENTICATION_FAILED']);
      expect((await readFile(path)).equals(tampered)).toBe(true);
      await expectOvsealError(
        rekey(path, { identities: [owner.identity], recipients: [owner.recipient], output: join(dir, 'out.ovseal') }),
        ['ERR_AUTHENTICATION_FAILED'],
      );
      expect((await readdir(dir)).sort()).toEqual(['m.ovseal']);
    });
  });

  test('needs recipients, and a key that opens the container', async () => {
    const owner = testKey();
    await withTempDir(async (dir) => {
      const { path, bytes } = await sealed(dir, [owner.recipient]);
      await expectOvsealError(rekey(path, { identities: [owner.identity], recipients: [] }), ['ERR_INVALID_ARGUMENT']);
      await expectOvsealError(rekey(path, { identities: [testKey().identity], recipients: [owner.recipient] }), ['ERR_NO_MATCHING_KEY']);
      expect((await readFile(path)).equals(bytes)).toBe(true);
    });
  });
});
