/**
 * The format's test vectors (docs/FORMAT.md §10) and the identities they name, written from the
 * spec (§5.1, §5.3) rather than taken from the provider packages, so that the vectors also check
 * the spec against the providers that generated them. The identities go through the container's
 * `unwrapMatching` (R-KEY-2, R-KEY-4) and mark their own checks with the reader-check seam, so that
 * `reader-checks.test.ts` can leave each one out.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  privateDecrypt,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AuthenticationFailedError,
  open,
  OvsealError,
  unwrapMatching,
  type Identity,
  type Stanza,
  type WrapContext,
} from '@ovseal/container';
import { enforced } from '../dist/lib/format/reader-checks.js';

export const VECTORS = new URL('../../../test-fixtures/vectors/', import.meta.url).pathname;
export const SPEC = new URL('../../../docs/FORMAT.md', import.meta.url).pathname;

export type VectorIdentity =
  { type: 'file'; kek: string } | { type: 'pkcs11-aes-kwp'; kek: string } | { type: 'pkcs11-rsa-oaep'; privateKeyPem: string };

export interface Vector {
  readonly name: string;
  readonly description: string;
  readonly rules: readonly string[];
  readonly isolates?: string;
  readonly expect: 'success' | 'header failure' | 'payload failure' | 'no match' | 'signature failure';
  readonly error?: string;
  readonly streamError?: string;
  readonly identities: readonly VectorIdentity[];
  readonly trust: readonly string[] | null;
  readonly now: number;
  readonly entries: readonly { name: string; role: string; sha256: string }[];
}

export interface KeyTextCase {
  readonly name: string;
  readonly rules: readonly string[];
  readonly source: 'file' | 'env';
  readonly text: string;
  readonly kek?: string;
  readonly error?: string;
}

export function loadVectors(): Vector[] {
  return readdirSync(VECTORS)
    .filter((file) => file.endsWith('.json') && file !== 'key-text.json')
    .map((file) => ({ name: file.slice(0, -5), ...(JSON.parse(readFileSync(join(VECTORS, file), 'utf8')) as Omit<Vector, 'name'>) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function loadKeyTextCases(): KeyTextCase[] {
  return (JSON.parse(readFileSync(join(VECTORS, 'key-text.json'), 'utf8')) as { cases: KeyTextCase[] }).cases;
}

export const vectorBytes = (vector: Vector): Buffer => readFileSync(join(VECTORS, `${vector.name}.ovseal`));

const sha256 = (...parts: (string | Uint8Array)[]) => parts.reduce((hash, part) => hash.update(part), createHash('sha256')).digest();

/** Arguments of each stanza type these identities read (docs/FORMAT.md §5, R-KEY-1). */
const ARGUMENT_COUNT: Readonly<Record<string, number>> = { file: 1, env: 1, 'pkcs11-aes-kwp': 1, 'pkcs11-rsa-oaep': 2 };

/** R-KEY-1: the key a stanza is of: one of `types`, with its type's argument count, naming `keyId`. */
function keyOfStanza(stanza: Stanza, types: readonly string[], keyId: string): string | null {
  if (!types.includes(stanza.type)) return null;
  if (stanza.args.length !== ARGUMENT_COUNT[stanza.type] && enforced('R-KEY-1')) return null;
  return stanza.args[0] === keyId ? keyId : null;
}

/** §5.1: `file` and `env` stanzas of one key-encryption key. */
function fileIdentity(kek: Buffer): Identity {
  const keyId = sha256('ovseal/v1 kek id\n', kek).toString('hex').slice(0, 16);
  const wrappingKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'ovseal/v1 kek wrap', 32));
  return {
    unwrap: (stanzas, context) =>
      unwrapMatching(stanzas, context, {
        keyOf: (stanza) => keyOfStanza(stanza, ['file', 'env'], keyId),
        async unwrapOne(stanza, ctx) {
          if (stanza.body.length !== 60 && enforced('R-FILE-1')) throw new AuthenticationFailedError();
          const decipher = createDecipheriv('aes-256-gcm', wrappingKey, stanza.body.subarray(0, 12));
          decipher.setAAD(ctx.aad);
          decipher.setAuthTag(stanza.body.subarray(44, 60));
          const dataKey = decipher.update(stanza.body.subarray(12, 44));
          try {
            decipher.final();
          } catch {
            if (enforced('R-FILE-2')) throw new AuthenticationFailedError();
          }
          return dataKey;
        },
      }),
  };
}

/** §5.3: the 64-byte bound value must carry the hash of this container's wrap context (R-P11-1). */
function openBound(bound: Buffer, context: WrapContext): Buffer {
  const expected = sha256('ovseal/v1 pkcs11 bind\n', context.aad);
  const bindsThisContainer = bound.length === 64 && timingSafeEqual(bound.subarray(32), expected);
  if (!bindsThisContainer && enforced('R-P11-1')) throw new AuthenticationFailedError();
  return bound.subarray(0, 32);
}

const KWP_IV = Buffer.from('A65959A6', 'hex');

/** §5.3 `pkcs11-aes-kwp`, unwrapped in software (RFC 5649 by OpenSSL): what a token does. */
function kwpIdentity(kek: Buffer): Identity {
  const checkWrap = createCipheriv('id-aes256-wrap-pad', kek, KWP_IV);
  const wrappedCheck = Buffer.concat([checkWrap.update(sha256('ovseal/v1 pkcs11 kek check\n')), checkWrap.final()]);
  const kekId = sha256('ovseal/v1 pkcs11 kek id\n', wrappedCheck).toString('hex').slice(0, 16);
  return {
    unwrap: (stanzas, context) =>
      unwrapMatching(stanzas, context, {
        keyOf: (stanza) => keyOfStanza(stanza, ['pkcs11-aes-kwp'], kekId),
        async unwrapOne(stanza, ctx) {
          let bound: Buffer;
          try {
            const decipher = createDecipheriv('id-aes256-wrap-pad', kek, KWP_IV);
            bound = Buffer.concat([decipher.update(stanza.body), decipher.final()]);
          } catch {
            throw new AuthenticationFailedError(); // R-P11-2
          }
          return openBound(bound, ctx);
        },
      }),
  };
}

/** §5.3 `pkcs11-rsa-oaep`, unwrapped with the private key in software. */
function oaepIdentity(privateKey: KeyObject): Identity {
  const keyId = sha256(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }))
    .toString('hex')
    .slice(0, 16);
  return {
    unwrap: (stanzas, context) =>
      unwrapMatching(stanzas, context, {
        keyOf: (stanza) => keyOfStanza(stanza, ['pkcs11-rsa-oaep'], keyId),
        async unwrapOne(stanza, ctx) {
          const hash = stanza.args[1]!;
          if (hash !== 'sha256' && hash !== 'sha1' && enforced('R-P11-3')) throw new AuthenticationFailedError();
          let bound: Buffer;
          try {
            bound = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, stanza.body);
          } catch {
            throw new AuthenticationFailedError(); // R-P11-2
          }
          return openBound(bound, ctx);
        },
      }),
  };
}

export function specIdentity(identity: VectorIdentity): Identity {
  switch (identity.type) {
    case 'file':
      return fileIdentity(Buffer.from(identity.kek, 'hex'));
    case 'pkcs11-aes-kwp':
      return kwpIdentity(Buffer.from(identity.kek, 'hex'));
    case 'pkcs11-rsa-oaep':
      return oaepIdentity(createPrivateKey(identity.privateKeyPem));
  }
}

/** What a reader made of a vector: the entries it opened, or the code it refused it with. */
export type Outcome = { readonly opened: { name: string; role: string; sha256: string }[] } | { readonly refused: string };

export type Source = 'bytes' | 'file' | 'stream';

function sourceOf(vector: Vector, source: Source) {
  if (source === 'file') return join(VECTORS, `${vector.name}.ovseal`);
  const bytes = vectorBytes(vector);
  if (source === 'bytes') return bytes;
  // A stream in uneven chunks: no reader may depend on where the chunks end.
  return Readable.from(Array.from({ length: Math.ceil(bytes.length / 1000) }, (_, i) => bytes.subarray(i * 1000, (i + 1) * 1000)));
}

/** Opens a vector with the reference reader, as §10 says: its identities, its trust policy, at its time. */
export async function readVector(vector: Vector, source: Source = 'bytes'): Promise<Outcome> {
  try {
    const model = await open(sourceOf(vector, source), {
      identities: vector.identities.map(specIdentity),
      ...(vector.trust ? { trust: { publicKeys: vector.trust } } : {}),
      now: new Date(vector.now * 1000),
      workers: 0,
    });
    const opened = model.entries.map((e) => ({ name: e.name, role: e.role, sha256: createHash('sha256').update(e.data).digest('hex') }));
    model.dispose();
    return { opened };
  } catch (error) {
    // An untyped error is a wrong answer too (the reference must not crash on any vector).
    return { refused: error instanceof OvsealError ? error.code : `untyped ${(error as Error).name}: ${(error as Error).message}` };
  }
}

/** The outcome a vector expects of a reader of `source`. */
export function expectedOutcome(vector: Vector, source: Source = 'bytes'): Outcome {
  if (vector.expect === 'success') return { opened: [...vector.entries] };
  return { refused: (source === 'stream' ? vector.streamError : undefined) ?? vector.error! };
}
