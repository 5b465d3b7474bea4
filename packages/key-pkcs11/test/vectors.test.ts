/**
 * The format's pkcs11 vectors (test-fixtures/vectors, docs/FORMAT.md §5.3 and §10), opened by the
 * real provider inside SoftHSM: the vectors' keys are imported with pkcs11-tool, then each vector
 * whose identities are PKCS#11 keys is opened with Pkcs11Identity and must give the vector's
 * outcome. The vectors were made in software (OpenSSL), so this checks the token path against the
 * spec. SoftHSM 2.6 has no OAEP with SHA-256: the vectors that need it are checked by the
 * container's spec identities only.
 */
import { createHash, createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { open, OvsealError } from '@ovseal/container';
import { Pkcs11Identity } from '../src/index.js';
import { describeHsm, useSoftHsm } from './helpers.js';

const VECTORS = new URL('../../../test-fixtures/vectors/', import.meta.url).pathname;

interface Vector {
  readonly name: string;
  readonly expect: string;
  readonly error?: string;
  readonly identities: readonly { type: string; kek?: string; privateKeyPem?: string }[];
  readonly now: number;
  readonly entries: readonly { name: string; role: string; sha256: string }[];
}

/** The token's object for each identity type of the vectors (one AES key, one RSA key). */
const LABELS: Readonly<Record<string, string>> = { 'pkcs11-aes-kwp': 'vector-kek', 'pkcs11-rsa-oaep': 'vector-rsa' };
/** Vectors whose stanzas the token would unwrap with OAEP SHA-256, which SoftHSM 2.6 lacks. */
const NEEDS_OAEP_SHA256 = new Set(['pkcs11-rsa-oaep-sha256', 'pkcs11-rsa-oaep-wrong-hash']);

const vectors: Vector[] = readdirSync(VECTORS)
  .filter((file) => file.endsWith('.json') && file !== 'key-text.json')
  .map((file) => ({ name: file.slice(0, -5), ...(JSON.parse(readFileSync(join(VECTORS, file), 'utf8')) as Omit<Vector, 'name'>) }))
  .filter((vector) => vector.identities.every((identity) => identity.type in LABELS));
const oneKeyOf = (type: string) => vectors.flatMap((v) => v.identities).find((identity) => identity.type === type)!;

describeHsm('pkcs11 format vectors opened inside SoftHSM', () => {
  const tokens = useSoftHsm([{ label: 'vectors' }]);
  const token = () => tokens[0]!;

  beforeAll(async () => {
    const kek = join(token().directory, 'vector.kek');
    writeFileSync(kek, Buffer.from(oneKeyOf('pkcs11-aes-kwp').kek!, 'hex'));
    await token().pkcs11Tool([
      '--write-object',
      kek,
      '--type',
      'secrkey',
      '--key-type',
      'AES:32',
      '--label',
      'vector-kek',
      '--usage-wrap',
      '--sensitive',
    ]);
    const rsa = join(token().directory, 'vector-rsa.der');
    writeFileSync(rsa, createPrivateKey(oneKeyOf('pkcs11-rsa-oaep').privateKeyPem!).export({ format: 'der', type: 'pkcs1' }));
    await token().pkcs11Tool([
      '--write-object',
      rsa,
      '--type',
      'privkey',
      '--label',
      'vector-rsa',
      '--id',
      '99',
      '--usage-decrypt',
      '--usage-wrap',
    ]);
  });

  it('every vector uses the same AES key and the same RSA key (one import each)', () => {
    for (const type of Object.keys(LABELS)) {
      const keys = new Set(
        vectors
          .flatMap((v) => v.identities)
          .filter((i) => i.type === type)
          .map((i) => i.kek ?? i.privateKeyPem),
      );
      expect(keys.size).toBe(1);
    }
    expect(vectors.length).toBeGreaterThanOrEqual(9);
  });

  it.each(vectors.filter((v) => !NEEDS_OAEP_SHA256.has(v.name)).map((v) => [v.name, v] as const))('%s', async (_name, vector) => {
    const identities = vector.identities.map((identity) => Pkcs11Identity.fromUri(token().uri({ object: LABELS[identity.type]! })));
    try {
      const outcome = await open(readFileSync(join(VECTORS, `${vector.name}.ovseal`)), {
        identities,
        now: new Date(vector.now * 1000),
      }).then(
        (model) => {
          const opened = model.entries.map((e) => ({
            name: e.name,
            role: e.role,
            sha256: createHash('sha256').update(e.data).digest('hex'),
          }));
          model.dispose();
          return { opened };
        },
        (error: unknown) => ({ refused: error instanceof OvsealError ? error.code : String(error) }),
      );
      expect(outcome).toEqual(vector.expect === 'success' ? { opened: vector.entries } : { refused: vector.error });
    } finally {
      await Promise.all(identities.map((identity) => identity.close()));
    }
  });
});
