/**
 * Publisher signatures made in SoftHSM: keys made by pkcs11-tool, public keys exported by
 * pkcs11-tool trusted by verify (no decryption key), signatures that survive rewrap, and typed
 * failures that leave no output.
 */
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { inspect, open, rewrap, seal, verify, type TrustPolicy } from '@ovseal/container';
import { Pkcs11Identity, Pkcs11Recipient, Pkcs11Signer } from '../src/index.js';
import { describeHsm, expectCode, moduleState, useSoftHsm } from './helpers.js';

const entries = () => [
  { name: 'model.xml', role: 'xml' as const, data: Buffer.from('<net/>') },
  { name: 'model.bin', role: 'weights' as const, data: Buffer.alloc(20_000, 9) },
];
const metadata = { name: 'signed-in-hsm', version: '2' };

describeHsm('publisher signatures made in SoftHSM', () => {
  const tokens = useSoftHsm([{ label: 'publisher' }]);
  const token = () => tokens[0]!;
  const exported = (name: string) => join(token().directory, name);

  beforeAll(async () => {
    await token().pkcs11Tool(['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'p256', '--id', '31', '--usage-sign']);
    await token().pkcs11Tool(['--keypairgen', '--key-type', 'EC:edwards25519', '--label', 'ed', '--id', '32', '--usage-sign']);
    await token().pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', 'kek', '--id', '01', '--usage-wrap']);
    // pkcs11-tool exports the public keys (DER for EC, PEM for EdDSA): what a verifier is given.
    await token().pkcs11Tool(['--read-object', '--type', 'pubkey', '--id', '31', '-o', exported('p256.pub')]);
    await token().pkcs11Tool(['--read-object', '--type', 'pubkey', '--id', '32', '-o', exported('ed.pub')]);
  });

  it.each([
    ['p256', 'ecdsa-p256'],
    ['ed', 'ed25519'],
  ] as const)(
    '%s: seal signed in the token; verify with the exported public key and no decryption key; the signature survives rewrap',
    async (label, algorithm) => {
      const signer = await Pkcs11Signer.open(token().uri({ object: label }));
      const recipient = await Pkcs11Recipient.open(token().uri({ object: 'kek' }));
      const identity = Pkcs11Identity.fromUri(token().uri({ object: 'kek' }));
      try {
        expect(signer.algorithm).toBe(algorithm);
        const output = join(token().directory, `${label}.ovseal`);
        const info = await seal({ output, entries: entries(), metadata, recipients: [recipient], signer });
        expect(info.signature?.algorithm).toBe(algorithm);
        const publicKey = await readFile(exported(`${label}.pub`));
        const trust: TrustPolicy = { publicKeys: [publicKey.includes('-----BEGIN') ? publicKey.toString('utf8') : publicKey] };
        const fromTool = publicKey.includes('-----BEGIN')
          ? createPublicKey(publicKey.toString('utf8'))
          : createPublicKey({ key: publicKey, format: 'der', type: 'spki' });
        expect(signer.publicKey.export({ format: 'der', type: 'spki' })).toEqual(fromTool.export({ format: 'der', type: 'spki' }));
        const verified = await verify(output, { trust });
        expect(verified.signature?.keyId).toBe(info.signature?.keyId);
        expect(verified.decrypted).toBe(false);

        // A rewrap changes the recipients, not the signed core.
        await token().pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', `second-${label}`, '--usage-wrap']);
        const second = await Pkcs11Recipient.open(token().uri({ object: `second-${label}` }));
        await rewrap(output, { identities: [identity], add: [second] });
        await second.close();
        expect((await inspect(output)).recipients).toHaveLength(2);
        expect((await verify(output, { trust })).signature?.keyId).toBe(info.signature?.keyId);
        const model = await open(output, { identities: [identity], trust });
        expect(model.get('model.bin')).toEqual(new Uint8Array(20_000).fill(9));
        model.dispose();
      } finally {
        await signer.close();
        await recipient.close();
        await identity.close();
      }
    },
  );

  it('ECDSA signatures from the token are r ‖ s and verify with OpenSSL', async () => {
    const signer = await Pkcs11Signer.open(token().uri({ id: '%31' }));
    try {
      for (let i = 0; i < 20; i++) {
        const message = Buffer.from(`message ${i}`);
        const signature = await signer.sign(message);
        expect(signature).toHaveLength(64);
        expect(verifySignature('sha256', message, { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
      }
    } finally {
      await signer.close();
    }
  });

  it('a wrong PIN, a missing key, a key that cannot sign: typed errors before sealing', async () => {
    const wrongPin = exported('wrong.pin');
    await writeFile(wrongPin, '9999', { mode: 0o600 });
    await expectCode(
      Pkcs11Signer.open(
        token()
          .uri({ object: 'p256' })
          .replace(/pin-source=file:[^&]+/, `pin-source=file:${wrongPin}`),
      ),
      'ERR_PKCS11_PIN_INCORRECT',
    );
    await expectCode(Pkcs11Signer.open(token().uri({ object: 'absent' })), 'ERR_PKCS11_OBJECT_NOT_FOUND');
    await expectCode(Pkcs11Signer.open(token().uri({ object: 'kek' })), 'ERR_PKCS11_OBJECT_NOT_FOUND');
    await expectCode(Pkcs11Signer.open(token().uri()), 'ERR_PKCS11_AMBIGUOUS');
    expect(moduleState(token().modulePath, 'publisher')).toEqual({ initialised: false, sessions: 0 });
  });

  it('the signing key deleted by pkcs11-tool while the signer is open: a typed error and no container', async () => {
    await token().pkcs11Tool(['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'doomed', '--id', '3d', '--usage-sign']);
    const signer = await Pkcs11Signer.open(token().uri({ object: 'doomed' }));
    const recipient = await Pkcs11Recipient.open(token().uri({ object: 'kek' }));
    const dir = exported('doomed');
    await mkdir(dir);
    try {
      await token().pkcs11Tool(['--delete-object', '--type', 'privkey', '--id', '3d']);
      await expectCode(
        seal({ output: join(dir, 'm.ovseal'), entries: entries(), metadata, recipients: [recipient], signer }),
        'ERR_PKCS11_OBJECT_NOT_FOUND',
      );
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await signer.close();
      await recipient.close();
    }
  });
});
