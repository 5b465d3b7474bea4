/**
 * The format's pkcs11 vectors (test-fixtures/vectors, docs/FORMAT.md §5.3), opened by the real
 * provider inside SoftHSM: the vector's keys are imported with pkcs11-tool, then the container is
 * opened with Pkcs11Identity. The vectors were made in software (OpenSSL), so this checks the token
 * path against the spec. SoftHSM 2.6 has no OAEP with SHA-256: that vector is checked by the
 * container's spec identity only.
 */
import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { open } from '@ovseal/container';
import { Pkcs11Identity } from '../src/index.js';
import { describeHsm, expectCode, useSoftHsm } from './helpers.js';

const VECTORS = new URL('../../../test-fixtures/vectors/', import.meta.url).pathname;
const vector = (name: string) => ({
  bytes: readFileSync(join(VECTORS, `${name}.ovseal`)),
  json: JSON.parse(readFileSync(join(VECTORS, `${name}.json`), 'utf8')) as {
    identity: { kek?: string; privateKeyPem?: string };
    error?: string;
    entries: { name: string; sha256: string }[];
  },
});

describeHsm('pkcs11 format vectors opened inside SoftHSM', () => {
  const tokens = useSoftHsm([{ label: 'vectors' }]);
  const token = () => tokens[0]!;

  beforeAll(async () => {
    const kek = join(token().directory, 'vector.kek');
    writeFileSync(kek, Buffer.from(vector('pkcs11-aes-kwp').json.identity.kek!, 'hex'));
    await token().pkcs11Tool(['--write-object', kek, '--type', 'secrkey', '--key-type', 'AES:32', '--label', 'vector-kek', '--usage-wrap', '--sensitive']);
    const rsa = join(token().directory, 'vector-rsa.der');
    writeFileSync(rsa, createPrivateKey(vector('pkcs11-rsa-oaep-sha1').json.identity.privateKeyPem!).export({ format: 'der', type: 'pkcs1' }));
    await token().pkcs11Tool(['--write-object', rsa, '--type', 'privkey', '--label', 'vector-rsa', '--id', '99', '--usage-decrypt', '--usage-wrap']);
  });

  it.each([
    ['pkcs11-aes-kwp', 'vector-kek'],
    ['pkcs11-rsa-oaep-sha1', 'vector-rsa'],
  ])('%s opens with the imported key and gives the expected entries', async (name, label) => {
    const { bytes, json } = vector(name);
    const identity = Pkcs11Identity.fromUri(token().uri({ object: label }));
    try {
      const model = await open(bytes, { identities: [identity] });
      expect(model.entries.map((e) => ({ name: e.name, sha256: createHash('sha256').update(e.data).digest('hex') }))).toEqual(json.entries.map(({ name, sha256 }) => ({ name, sha256 })));
      model.dispose();
    } finally {
      await identity.close();
    }
  });

  it('pkcs11-aes-kwp-moved fails as the vector says', async () => {
    const { bytes, json } = vector('pkcs11-aes-kwp-moved');
    const identity = Pkcs11Identity.fromUri(token().uri({ object: 'vector-kek' }));
    try {
      await expectCode(open(bytes, { identities: [identity] }), json.error!);
    } finally {
      await identity.close();
    }
  });
});
