/**
 * Publisher signatures (Ed25519 and ECDSA P-256): verifiable without a key, kept by rewrap,
 * trusted only for the right key, and unforgeable by a holder of the data key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  generateSigningKey,
  inspect,
  LIMITS,
  open,
  openEntry,
  openStream,
  rewrap,
  seal,
  sealToBuffer,
  verify,
  type SignatureAlgorithm,
  type SignatureUntrustedError,
} from '@ovseal/container';
import { bytesEqual, chunked, drain, expectOvsealError, pseudoRandomBytes, testKey, withTempDir } from './helpers.js';
import { encryptPayload, fieldsOf, headerArea, headerOf, resign, stealDataKey } from './forge.js';

const SEG = LIMITS.minSegmentSize;
const XML = pseudoRandomBytes(1000, 21);
const WEIGHTS = pseudoRandomBytes(3 * SEG + 17, 22);

function entries() {
  return [
    { name: 'model.xml', role: 'xml' as const, data: XML },
    { name: 'model.bin', role: 'weights' as const, data: WEIGHTS },
  ];
}

describe.each(['ed25519', 'ecdsa-p256'] as SignatureAlgorithm[])('%s signatures', (algorithm) => {
  const publisher = generateSigningKey(algorithm);
  const stranger = generateSigningKey(algorithm);
  const trust = { publicKeys: [publisher.publicKeyPem] };

  test('inspect shows the signer; verify without any key passes and names it', async () => {
    const { recipient } = testKey();
    await withTempDir(async (dir) => {
      const output = join(dir, 'm.ovseal');
      const info = await seal({
        output,
        entries: entries(),
        metadata: { name: 'm', version: '1' },
        recipients: [recipient],
        signer: publisher.privateKeyPem,
        segmentSize: SEG,
      });
      expect(info.signature).toEqual({ algorithm, publicKeyPem: publisher.publicKeyPem, keyId: publisher.keyId });
      expect((await inspect(output)).signature?.keyId).toBe(publisher.keyId);
      for (const source of [output, await readFile(output), chunked(await readFile(output), [5000])]) {
        const result = await verify(source);
        expect(result.signature?.keyId).toBe(publisher.keyId);
        expect(result.signature?.algorithm).toBe(algorithm);
        expect(result.decrypted).toBe(false);
      }
      expect((await verify(output, { requireSignature: true })).signature?.keyId).toBe(publisher.keyId);
      expect((await verify(output, { trust })).signature?.keyId).toBe(publisher.keyId);
    });
  });

  test('open with trust accepts PEM, a public KeyObject and a private KeyObject of the publisher', async () => {
    const { recipient, identity } = testKey();
    const bytes = await sealToBuffer({
      entries: entries(),
      metadata: { name: 'm', version: '1' },
      recipients: [recipient],
      signer: createPrivateKey(publisher.privateKeyPem),
      segmentSize: SEG,
    });
    for (const key of [publisher.publicKeyPem, createPublicKey(publisher.publicKeyPem), createPrivateKey(publisher.privateKeyPem)]) {
      const opened = await open(bytes, { identities: [identity], trust: { publicKeys: [stranger.publicKeyPem, key] } });
      expect(bytesEqual(opened.get('model.bin'), WEIGHTS)).toBe(true);
    }
    expect(bytesEqual(await openEntry(bytes, 'model.xml', { identities: [identity], trust }), XML)).toBe(true);
    const chunks = await drain(openStream(bytes, { identities: [identity], trust }));
    expect(chunks.length).toBe(5);
  });

  test('trust with the wrong key: ERR_SIGNATURE_UNTRUSTED everywhere, before any key is used', async () => {
    const { recipient, identity } = testKey();
    const bytes = await sealToBuffer({
      entries: entries(),
      metadata: { name: 'm', version: '1' },
      recipients: [recipient],
      signer: publisher.privateKeyPem,
      segmentSize: SEG,
    });
    const wrongTrust = { publicKeys: [stranger.publicKeyPem] };
    const error = await expectOvsealError(open(bytes, { identities: [identity], trust: wrongTrust }), ['ERR_SIGNATURE_UNTRUSTED']);
    expect((error as SignatureUntrustedError).keyId).toBe(publisher.keyId);
    expect(error.hint).toBeTruthy();
    await expectOvsealError(openEntry(bytes, 'model.xml', { identities: [identity], trust: wrongTrust }), ['ERR_SIGNATURE_UNTRUSTED']);
    await expectOvsealError(drain(openStream(bytes, { identities: [identity], trust: wrongTrust })), ['ERR_SIGNATURE_UNTRUSTED']);
    await expectOvsealError(verify(bytes, { trust: wrongTrust }), ['ERR_SIGNATURE_UNTRUSTED']);
    await expectOvsealError(verify(bytes, { trust: { publicKeys: [] } }), ['ERR_SIGNATURE_UNTRUSTED']);
    // The trust check is cheap and comes first: no KMS or TPM call for a refused container.
    expect(identity.calls).toBe(0);
    await expectOvsealError(verify(bytes, { trust: wrongTrust, identities: [identity] }), ['ERR_SIGNATURE_UNTRUSTED']);
  });

  test('verify with identities also checks trust before any key is used', async () => {
    const { recipient, identity } = testKey();
    const bytes = await sealToBuffer({
      entries: entries(),
      metadata: { name: 'm', version: '1' },
      recipients: [recipient],
      signer: publisher.privateKeyPem,
      segmentSize: SEG,
    });
    await expectOvsealError(verify(bytes, { trust: { publicKeys: [stranger.publicKeyPem] }, identities: [identity] }), [
      'ERR_SIGNATURE_UNTRUSTED',
    ]);
    const unsigned = await sealToBuffer({
      entries: entries(),
      metadata: { name: 'm', version: '1' },
      recipients: [recipient],
      segmentSize: SEG,
    });
    await expectOvsealError(verify(unsigned, { trust, identities: [identity] }), ['ERR_SIGNATURE_MISSING']);
    await expectOvsealError(verify(unsigned, { requireSignature: true, identities: [identity] }), ['ERR_SIGNATURE_MISSING']);
    // Like open (prepareOpen: cheap checks first), a refused container must cost no KMS or TPM call.
    expect(identity.calls).toBe(0);
  });

  test('unsigned container with trust: ERR_SIGNATURE_MISSING', async () => {
    const { recipient, identity } = testKey();
    const bytes = await sealToBuffer({
      entries: entries(),
      metadata: { name: 'm', version: '1' },
      recipients: [recipient],
      segmentSize: SEG,
    });
    await expectOvsealError(open(bytes, { identities: [identity], trust }), ['ERR_SIGNATURE_MISSING']);
    await expectOvsealError(openEntry(bytes, 'model.xml', { identities: [identity], trust }), ['ERR_SIGNATURE_MISSING']);
    await expectOvsealError(drain(openStream(bytes, { identities: [identity], trust })), ['ERR_SIGNATURE_MISSING']);
    await expectOvsealError(verify(bytes, { trust }), ['ERR_SIGNATURE_MISSING']);
    await expectOvsealError(verify(bytes, { requireSignature: true }), ['ERR_SIGNATURE_MISSING']);
    expect(identity.calls).toBe(0);
    // Without a policy an unsigned container verifies (and says it is unsigned).
    expect((await verify(bytes)).signature).toBeNull();
    expect((await verify(bytes, { identities: [identity] })).decrypted).toBe(true);
  });

  test('the signature survives rewrap: recipients added in place, removed to a new output', async () => {
    const first = testKey();
    const second = testKey();
    await withTempDir(async (dir) => {
      const path = join(dir, 'm.ovseal');
      const sealed = await seal({
        output: path,
        entries: entries(),
        metadata: { name: 'm', version: '1' },
        recipients: [first.recipient],
        signer: publisher.privateKeyPem,
        segmentSize: SEG,
      });

      const added = await rewrap(path, { identities: [first.identity], add: [second.recipient] });
      expect(added.inPlace).toBe(true);
      expect(added.info.signature?.keyId).toBe(publisher.keyId);
      expect((await verify(path, { trust })).signature?.keyId).toBe(publisher.keyId);
      expect((await verify(path, { trust, identities: [second.identity] })).decrypted).toBe(true);
      const opened = await open(path, { identities: [second.identity], trust });
      expect(bytesEqual(opened.get('model.xml'), XML)).toBe(true);

      const moved = join(dir, 'only-second.ovseal');
      const removed = await rewrap(path, {
        identities: [second.identity],
        remove: (s) => s.args[0] === first.identity.keyId,
        output: moved,
      });
      expect(removed).toMatchObject({ removed: 1, added: 0, inPlace: false });
      expect((await verify(moved, { trust })).info.payloadDigest).toBe(sealed.payloadDigest);
      await expectOvsealError(open(moved, { identities: [first.identity], trust }), ['ERR_NO_MATCHING_KEY']);
      expect(bytesEqual((await open(moved, { identities: [second.identity], trust })).get('model.bin'), WEIGHTS)).toBe(true);
    });
  });

  describe('a holder of the data key cannot forge a signed model', () => {
    async function signedContainer() {
      const key = testKey();
      const bytes = await sealToBuffer({
        entries: entries(),
        metadata: { name: 'm', version: '1' },
        recipients: [key.recipient],
        signer: publisher.privateKeyPem,
        segmentSize: SEG,
      });
      const header = headerOf(bytes);
      const dataKey = await stealDataKey(bytes, key.identity);
      // Same sizes, different content: a backdoored model.
      const evil = [pseudoRandomBytes(XML.length, 666), pseudoRandomBytes(WEIGHTS.length, 667)];
      const forged = encryptPayload(header, dataKey, evil);
      return { key, bytes, header, dataKey, evil, forged };
    }

    test('payload re-encrypted under the same data key, signed core kept: ERR_SIGNATURE_INVALID', async () => {
      const { key, bytes, header, evil, forged } = await signedContainer();
      const container = Buffer.concat([bytes.subarray(0, header.payloadOffset), forged.payload]);
      expect(container.length).toBe(bytes.length);

      // A present signature is always verified (issue 10 item 13): without a trust policy too, a
      // reader of the whole payload compares the digest the signature covers.
      for (const workers of [0, 2]) {
        await expectOvsealError(open(container, { identities: [key.identity], workers }), ['ERR_SIGNATURE_INVALID']);
        await expectOvsealError(open(chunked(container, [7000]), { identities: [key.identity], workers }), ['ERR_SIGNATURE_INVALID']);
      }
      await expectOvsealError(drain(openStream(container, { identities: [key.identity] })), ['ERR_SIGNATURE_INVALID']);
      // Random access to one entry reads no other segment: without trust, the digest is not compared
      // (docs/FORMAT.md §6.3); the entry's own tags still authenticate it to the key holder.
      expect(bytesEqual(await openEntry(container, 'model.xml', { identities: [key.identity] }), evil[0]!)).toBe(true);

      for (const workers of [0, 2]) {
        await expectOvsealError(open(container, { identities: [key.identity], trust, workers }), ['ERR_SIGNATURE_INVALID']);
        await expectOvsealError(open(chunked(container, [7000]), { identities: [key.identity], trust, workers }), [
          'ERR_SIGNATURE_INVALID',
        ]);
      }
      await expectOvsealError(openEntry(container, 'model.xml', { identities: [key.identity], trust }), ['ERR_SIGNATURE_INVALID']);
      await expectOvsealError(drain(openStream(container, { identities: [key.identity], trust })), ['ERR_SIGNATURE_INVALID']);
      await expectOvsealError(verify(container), ['ERR_SIGNATURE_INVALID']);
      await expectOvsealError(verify(container, { trust }), ['ERR_SIGNATURE_INVALID']);
      await expectOvsealError(verify(container, { trust, identities: [key.identity] }), ['ERR_SIGNATURE_INVALID']);
      await withTempDir(async (dir) => {
        const path = join(dir, 'forged.ovseal');
        await writeFile(path, container);
        await expectOvsealError(open(path, { identities: [key.identity], trust, workers: 2 }), ['ERR_SIGNATURE_INVALID']);
        await expectOvsealError(verify(path), ['ERR_SIGNATURE_INVALID']);
      });
    });

    test('payload digest rewritten and header re-MACed: the signature over the core breaks', async () => {
      const { key, header, dataKey, forged } = await signedContainer();
      const fields = { ...fieldsOf(header), payloadDigest: forged.digest };
      const container = Buffer.concat([headerArea(fields, dataKey, header.payloadOffset), forged.payload]);
      await expectOvsealError(open(container, { identities: [key.identity], trust }), ['ERR_SIGNATURE_INVALID']);
      await expectOvsealError(verify(container), ['ERR_SIGNATURE_INVALID']);
      await expectOvsealError(verify(container, { identities: [key.identity] }), ['ERR_SIGNATURE_INVALID']);
    });

    test('a corrupted signature is refused without a trust policy too, before any key is used', async () => {
      const { key, bytes, header, dataKey } = await signedContainer();
      const signature = Uint8Array.from(header.signature!.signature);
      signature[5]! ^= 0x01;
      const fields = { ...fieldsOf(header), signature: { ...header.signature!, signature } };
      const container = Buffer.concat([headerArea(fields, dataKey, header.payloadOffset), bytes.subarray(header.payloadOffset)]);
      const identity = testKey().identity;
      for (const source of [() => container, () => chunked(container, [3000])]) {
        await expectOvsealError(open(source(), { identities: [identity, key.identity] }), ['ERR_SIGNATURE_INVALID']);
        await expectOvsealError(drain(openStream(source(), { identities: [identity, key.identity] })), ['ERR_SIGNATURE_INVALID']);
      }
      await expectOvsealError(openEntry(container, 'model.xml', { identities: [identity, key.identity] }), ['ERR_SIGNATURE_INVALID']);
      expect(identity.calls).toBe(0);
    });

    test('signature stripped and header re-MACed: ERR_SIGNATURE_MISSING under a policy', async () => {
      const { key, header, dataKey, forged } = await signedContainer();
      const fields = { ...fieldsOf(header), payloadDigest: forged.digest, signature: null };
      const container = Buffer.concat([headerArea(fields, dataKey, header.payloadOffset), forged.payload]);
      await expectOvsealError(open(container, { identities: [key.identity], trust }), ['ERR_SIGNATURE_MISSING']);
      await expectOvsealError(verify(container, { requireSignature: true }), ['ERR_SIGNATURE_MISSING']);
      await expectOvsealError(verify(container, { trust }), ['ERR_SIGNATURE_MISSING']);
    });

    test("re-signed with the forger's own key: ERR_SIGNATURE_UNTRUSTED", async () => {
      const { key, header, dataKey, forged } = await signedContainer();
      const fields = resign({ ...fieldsOf(header), payloadDigest: forged.digest }, stranger.privateKeyPem);
      const container = Buffer.concat([headerArea(fields, dataKey, header.payloadOffset), forged.payload]);
      // Valid as a signature, by the wrong publisher.
      expect((await verify(container)).signature?.keyId).toBe(stranger.keyId);
      await expectOvsealError(open(container, { identities: [key.identity], trust }), ['ERR_SIGNATURE_UNTRUSTED']);
      await expectOvsealError(verify(container, { trust }), ['ERR_SIGNATURE_UNTRUSTED']);
    });
  });
});

test('a signing key that is neither Ed25519 nor P-256 is refused', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { recipient } = testKey();
  await expectOvsealError(
    sealToBuffer({ entries: entries(), metadata: { name: 'm', version: '1' }, recipients: [recipient], signer: privateKey }),
    ['ERR_INVALID_ARGUMENT'],
  );
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
  await expectOvsealError(
    sealToBuffer({ entries: entries(), metadata: { name: 'm', version: '1' }, recipients: [recipient], signer: p384 }),
    ['ERR_INVALID_ARGUMENT'],
  );
});
