/**
 * The Signer interface: signatures made outside this process (an HSM, KMS) go through the same
 * path as a local key, are checked against the signer's public key before anything is written,
 * and ECDSA signatures are stored as the format says (r ‖ s), whatever encoding the signer has.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify as verifySignature, type KeyObject } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  createLocalSigner,
  ecdsaSignatureFromDer,
  generateSigningKey,
  InvalidArgumentError,
  LIMITS,
  open,
  seal,
  verify,
  type Signer,
} from '@ovseal/container';
import { expectOvsealError, testKey, withTempDir } from './helpers.js';

const entries = () => [{ name: 'model.onnx', role: 'onnx' as const, data: new Uint8Array(3 * LIMITS.minSegmentSize + 5).fill(7) }];
const metadata = { name: 'signed', version: '1' };

/** A signer that answers like AWS KMS: asynchronously, and with a DER signature. */
function derSigner(privateKey: KeyObject, normalise: boolean): Signer & { calls: number } {
  const signer = {
    algorithm: 'ecdsa-p256' as const,
    publicKey: createPublicKey(privateKey),
    calls: 0,
    async sign(message: Uint8Array) {
      signer.calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      const der = sign('sha256', message, privateKey);
      return normalise ? ecdsaSignatureFromDer(der) : der;
    },
  };
  return signer;
}

describe('Signer', () => {
  test('an asynchronous signer with DER output, normalised, signs once; verify and open trust its public key', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const signer = derSigner(privateKey, true);
    const { recipient, identity } = testKey();
    await withTempDir(async (dir) => {
      const output = join(dir, 'm.ovseal');
      const info = await seal({ output, entries: entries(), metadata, recipients: [recipient], signer });
      expect(signer.calls).toBe(1);
      expect(info.signature?.algorithm).toBe('ecdsa-p256');
      const spkiDer = signer.publicKey.export({ format: 'der', type: 'spki' });
      const result = await verify(output, { trust: { publicKeys: [spkiDer] } });
      expect(result.signature?.keyId).toBe(info.signature?.keyId);
      const opened = await open(output, { identities: [identity], trust: { publicKeys: [new Uint8Array(spkiDer)] } });
      opened.dispose();
    });
  });

  test('a signer returning DER as is is refused before anything is written', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const { recipient } = testKey();
    await withTempDir(async (dir) => {
      const output = join(dir, 'm.ovseal');
      await expectOvsealError(
        seal({ output, entries: entries(), metadata, recipients: [recipient], signer: derSigner(privateKey, false) }),
        ['ERR_SIGNATURE_INVALID'],
      );
      expect(await readdir(dir)).toEqual([]);
    });
  });

  test('a signer whose public key is not the signing key is refused', async () => {
    const publisher = generateSigningKey('ed25519');
    const other = generateSigningKey('ed25519');
    const local = createLocalSigner(publisher.privateKeyPem);
    const liar: Signer = { algorithm: 'ed25519', publicKey: createPublicKey(other.publicKeyPem), sign: (message) => local.sign(message) };
    const { recipient } = testKey();
    await withTempDir(async (dir) => {
      const output = join(dir, 'm.ovseal');
      await expectOvsealError(seal({ output, entries: entries(), metadata, recipients: [recipient], signer: liar }), [
        'ERR_SIGNATURE_INVALID',
      ]);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  test('a signer whose algorithm does not match its public key, or a public key given as signing key, is an invalid argument', async () => {
    const publisher = generateSigningKey('ecdsa-p256');
    const local = createLocalSigner(publisher.privateKeyPem);
    const { recipient } = testKey();
    const mislabelled: Signer = { algorithm: 'ed25519', publicKey: local.publicKey, sign: (message) => local.sign(message) };
    await withTempDir(async (dir) => {
      const output = join(dir, 'm.ovseal');
      await expectOvsealError(seal({ output, entries: entries(), metadata, recipients: [recipient], signer: mislabelled }), [
        'ERR_INVALID_ARGUMENT',
      ]);
      await expectOvsealError(
        seal({ output, entries: entries(), metadata, recipients: [recipient], signer: createPublicKey(publisher.publicKeyPem) }),
        ['ERR_INVALID_ARGUMENT'],
      );
      expect(await readdir(dir)).toEqual([]);
    });
  });

  test('a failing signer leaves no output and its error passes through', async () => {
    const publisher = generateSigningKey('ed25519');
    const { recipient } = testKey();
    const failing: Signer = {
      ...createLocalSigner(publisher.privateKeyPem),
      sign: async () => Promise.reject(new InvalidArgumentError('token went away')),
    };
    await withTempDir(async (dir) => {
      await expect(
        seal({ output: join(dir, 'm.ovseal'), entries: entries(), metadata, recipients: [recipient], signer: failing }),
      ).rejects.toThrow('token went away');
      expect(await readdir(dir)).toEqual([]);
    });
  });

  test('createLocalSigner (PEM or KeyObject) and a bare PEM give the same publisher key id', async () => {
    for (const algorithm of ['ed25519', 'ecdsa-p256'] as const) {
      const publisher = generateSigningKey(algorithm);
      const { recipient } = testKey();
      await withTempDir(async (dir) => {
        const signers = [
          createLocalSigner(publisher.privateKeyPem),
          createLocalSigner(createPrivateKey(publisher.privateKeyPem)),
          publisher.privateKeyPem,
        ];
        for (const [index, signer] of signers.entries()) {
          const info = await seal({ output: join(dir, `${index}`), entries: entries(), metadata, recipients: [recipient], signer });
          expect(info.signature?.keyId).toBe(publisher.keyId);
          expect((await verify(join(dir, `${index}`), { trust: { publicKeys: [publisher.publicKeyPem] } })).signature?.algorithm).toBe(
            algorithm,
          );
        }
      });
    }
  });
});

describe('ecdsaSignatureFromDer', () => {
  test('converts DER from OpenSSL to r ‖ s, padding short values, and the result verifies', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    // Sign until a short r or s has been seen (about 1 signature in 128): a fixed count of 400
    // missed one 4 % of the time; 20,000 leaves a chance of about 1e-68.
    let sawShort = false;
    for (let i = 0; i < 20_000 && (!sawShort || i < 400); i++) {
      const message = Buffer.from(`message ${i}`);
      const der = sign('sha256', message, privateKey);
      const raw = ecdsaSignatureFromDer(der);
      expect(raw).toHaveLength(64);
      expect(verifySignature('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
      // r or s below 2^248 is shorter in DER and padded in r ‖ s.
      const rLength = der[3]!;
      const sLength = der[4 + rLength + 1]!;
      if (rLength < 32 || sLength < 32) sawShort = true;
    }
    expect(sawShort).toBe(true);
  });

  test('rejects what is not a DER SEQUENCE of two positive INTEGERs of at most 32 bytes', () => {
    const good = Buffer.from(sign('sha256', Buffer.from('x'), generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey));
    const cases: Buffer[] = [
      Buffer.alloc(64),
      Buffer.concat([good, Buffer.from([0])]),
      Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01]),
      Buffer.from([0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]),
      Buffer.from([0x30, 0x26, 0x02, 0x21, 0x01, ...Buffer.alloc(32, 1), 0x02, 0x01, 0x01]),
      Buffer.from([0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
    ];
    for (const bad of cases) expect(() => ecdsaSignatureFromDer(bad)).toThrow(InvalidArgumentError);
  });
});
