// Runs every test vector of test-fixtures/vectors (docs/FORMAT.md §9). The `file` identity here is
// written from the spec (§5.1), not taken from @ovseal/key-file, so the vectors also check the
// spec against the reference provider that generated them.
import { constants, createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, hkdfSync, privateDecrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuthenticationFailedError, open, OvsealError, type Identity, type Stanza, type WrapContext } from '@ovseal/container';

const VECTORS = new URL('../../../test-fixtures/vectors/', import.meta.url).pathname;

interface Vector {
  description: string;
  expect: 'success' | 'header failure' | 'payload failure' | 'no match' | 'signature failure';
  error?: string;
  identity: { type: 'file'; kek: string } | { type: 'pkcs11-aes-kwp'; kek: string } | { type: 'pkcs11-rsa-oaep'; privateKeyPem: string };
  trust: string | null;
  entries: { name: string; role: string; sha256: string }[];
}

function specFileIdentity(kek: Buffer): Identity {
  const keyId = createHash('sha256').update('ovseal/v1 kek id\n').update(kek).digest('hex').slice(0, 16);
  const wrappingKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'ovseal/v1 kek wrap', 32));
  return {
    async unwrap(stanzas: readonly Stanza[], context: WrapContext) {
      const ours = stanzas.filter((s) => (s.type === 'file' || s.type === 'env') && s.args[0] === keyId);
      // §5: at most one attempt per key; a key named by two stanzas is not tried at all.
      if (ours.length > 1) {
        const { MalformedHeaderError } = await import('@ovseal/container');
        throw new MalformedHeaderError('two stanzas for one key');
      }
      for (const stanza of ours) {
        if (stanza.body.length !== 60) continue;
        const decipher = createDecipheriv('aes-256-gcm', wrappingKey, stanza.body.subarray(0, 12));
        decipher.setAAD(context.aad);
        decipher.setAuthTag(stanza.body.subarray(44));
        const dataKey = decipher.update(stanza.body.subarray(12, 44));
        try {
          decipher.final();
          return dataKey;
        } catch {
          /* try the next stanza */
        }
      }
      if (ours.length > 0) {
        const { AuthenticationFailedError } = await import('@ovseal/container');
        throw new AuthenticationFailedError();
      }
      return null;
    },
  };
}

/** The pkcs11 stanzas (docs/FORMAT.md §5.3), unwrapped in software from the spec: what a token does. */
const sha256 = (...parts: (string | Uint8Array)[]) => parts.reduce((hash, part) => hash.update(part), createHash('sha256')).digest();
const KWP_IV = Buffer.from('A65959A6', 'hex');

function openBound(bound: Buffer, context: WrapContext): Buffer {
  const expected = sha256('ovseal/v1 pkcs11 bind\n', context.aad);
  if (bound.length !== 64 || !timingSafeEqual(bound.subarray(32), expected)) throw new AuthenticationFailedError();
  return bound.subarray(0, 32);
}

function specKwpIdentity(kek: Buffer): Identity {
  const checkWrap = createCipheriv('id-aes256-wrap-pad', kek, KWP_IV);
  const wrappedCheck = Buffer.concat([checkWrap.update(sha256('ovseal/v1 pkcs11 kek check\n')), checkWrap.final()]);
  const kekId = sha256('ovseal/v1 pkcs11 kek id\n', wrappedCheck).toString('hex').slice(0, 16);
  return {
    async unwrap(stanzas, context) {
      const ours = stanzas.find((s) => s.type === 'pkcs11-aes-kwp' && s.args[0] === kekId);
      if (!ours) return null;
      let bound: Buffer;
      try {
        const decipher = createDecipheriv('id-aes256-wrap-pad', kek, KWP_IV);
        bound = Buffer.concat([decipher.update(ours.body), decipher.final()]);
      } catch {
        throw new AuthenticationFailedError();
      }
      return openBound(bound, context);
    },
  };
}

function specOaepIdentity(privateKey: KeyObject): Identity {
  const keyId = sha256(createPublicKey(privateKey).export({ format: 'der', type: 'spki' })).toString('hex').slice(0, 16);
  return {
    async unwrap(stanzas, context) {
      const ours = stanzas.find((s) => s.type === 'pkcs11-rsa-oaep' && s.args[0] === keyId);
      if (!ours) return null;
      const hash = ours.args[1];
      if (hash !== 'sha256' && hash !== 'sha1') throw new AuthenticationFailedError();
      let bound: Buffer;
      try {
        bound = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ours.body);
      } catch {
        throw new AuthenticationFailedError();
      }
      return openBound(bound, context);
    },
  };
}

function specIdentity(identity: Vector['identity']): Identity {
  switch (identity.type) {
    case 'file':
      return specFileIdentity(Buffer.from(identity.kek, 'hex'));
    case 'pkcs11-aes-kwp':
      return specKwpIdentity(Buffer.from(identity.kek, 'hex'));
    case 'pkcs11-rsa-oaep':
      return specOaepIdentity(createPrivateKey(identity.privateKeyPem));
  }
}

const names = readdirSync(VECTORS).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

describe('format test vectors', () => {
  it('has vectors for every outcome', () => {
    const outcomes = new Set(names.map((n) => (JSON.parse(readFileSync(join(VECTORS, `${n}.json`), 'utf8')) as Vector).expect));
    expect([...outcomes].sort()).toEqual(['header failure', 'no match', 'payload failure', 'signature failure', 'success']);
  });

  for (const name of names) {
    const vector = JSON.parse(readFileSync(join(VECTORS, `${name}.json`), 'utf8')) as Vector;
    it(`${name}: ${vector.expect}`, async () => {
      const bytes = readFileSync(join(VECTORS, `${name}.ovseal`));
      const options = {
        identities: [specIdentity(vector.identity)],
        ...(vector.trust ? { trust: { publicKeys: [vector.trust] } } : {}),
      };
      for (const source of [bytes, join(VECTORS, `${name}.ovseal`)]) {
        if (vector.expect === 'success') {
          const model = await open(source, options);
          expect(model.entries.map((e) => ({ name: e.name, role: e.role, sha256: createHash('sha256').update(e.data).digest('hex') }))).toEqual(vector.entries);
          model.dispose();
        } else {
          const failure = await open(source, options).then(
            () => null,
            (error: unknown) => error,
          );
          expect(failure).toBeInstanceOf(OvsealError);
          expect((failure as OvsealError).code).toBe(vector.error);
        }
      }
    });
  }
});
