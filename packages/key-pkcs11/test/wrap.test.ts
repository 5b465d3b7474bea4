/**
 * Data keys wrapped inside SoftHSM: AES key wrap with padding and RSA-OAEP, checked against OpenSSL
 * (a second implementation of RFC 5649 and OAEP), with keys made and listed by pkcs11-tool (a second
 * PKCS#11 client), through whole containers, and with every failure typed and nothing released.
 */
import { constants, createCipheriv, createDecipheriv, createHash, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { open, rewrap, seal, type Stanza } from '@ovseal/container';
import { Pkcs11Error, Pkcs11Identity, Pkcs11Recipient } from '../src/index.js';
import { boundValue, rsaKeyId } from '../src/lib/wire.js';
import { dataKey, describeHsm, expectCode, moduleState, newContext, useSoftHsm } from './helpers.js';

const entries = () => [{ name: 'model.onnx', role: 'onnx' as const, data: Buffer.alloc(10_000, 3) }];
const metadata = { name: 'detector', version: '4' };

describeHsm('wrapping inside SoftHSM', () => {
  const tokens = useSoftHsm([{ label: 'ovseal' }, { label: 'other', pin: '8888' }]);
  const token = () => tokens[0]!;
  const other = () => tokens[1]!;
  const kekValue = randomBytes(32);

  beforeAll(async () => {
    const t = token();
    // pkcs11-tool makes the keys: a generated AES KEK, an imported one of known value, an RSA pair.
    await t.pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', 'kek', '--id', '01', '--usage-wrap', '--sensitive']);
    await writeFile(join(t.directory, 'known.key'), kekValue);
    await t.pkcs11Tool([
      '--write-object',
      join(t.directory, 'known.key'),
      '--type',
      'secrkey',
      '--key-type',
      'AES:32',
      '--label',
      'known-kek',
      '--id',
      '0a',
      '--usage-wrap',
    ]);
    await t.pkcs11Tool(['--keypairgen', '--key-type', 'rsa:2048', '--label', 'rsa', '--id', '02', '--usage-wrap', '--usage-decrypt']);
    await other().pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', 'kek', '--id', '01', '--usage-wrap']);
  });

  it('pkcs11-tool lists the keys it made, and the recipient finds them by label or id', async () => {
    const listed = await token().pkcs11Tool(['--list-objects']);
    expect(listed).toMatch(/Secret Key Object; AES length 32\s+label:\s+kek\s+ID:\s+01/);
    expect(listed).toMatch(/Private Key Object; RSA\s+label:\s+rsa/);
    for (const attributes of [{ object: 'kek' }, { id: '%01', type: 'secret-key' }] as Record<string, string>[]) {
      const recipient = await Pkcs11Recipient.open(token().uri(attributes));
      expect(recipient.stanzaType).toBe('pkcs11-aes-kwp');
      expect(recipient.keyId).toMatch(/^[0-9a-f]{16}$/);
      await recipient.close();
    }
  });

  it('AES-KWP: the stanza is RFC 5649 of dataKey ‖ SHA-256(label ‖ aad), as OpenSSL unwraps it', async () => {
    const recipient = await Pkcs11Recipient.open(token().uri({ object: 'known-kek' }));
    try {
      const context = newContext();
      const key = dataKey();
      const [stanza] = await recipient.wrap(key, context);
      expect(stanza!.type).toBe('pkcs11-aes-kwp');
      expect(stanza!.body).toHaveLength(72);
      const decipher = createDecipheriv('id-aes256-wrap-pad', kekValue, Buffer.from('A65959A6', 'hex'));
      const unwrapped = Buffer.concat([decipher.update(stanza!.body), decipher.final()]);
      expect(unwrapped).toEqual(boundValue(key, context));
      // The key id is the hash of the KEK's wrap of a fixed value, here computed by OpenSSL.
      const check = createHash('sha256').update('ovseal/v1 pkcs11 kek check\n').digest();
      const wrapper = createCipheriv('id-aes256-wrap-pad', kekValue, Buffer.from('A65959A6', 'hex'));
      const wrappedCheck = Buffer.concat([wrapper.update(check), wrapper.final()]);
      expect(stanza!.args).toEqual([
        createHash('sha256').update('ovseal/v1 pkcs11 kek id\n').update(wrappedCheck).digest('hex').slice(0, 16),
      ]);
    } finally {
      await recipient.close();
    }
  });

  it.each([
    ['kek', 'pkcs11-aes-kwp'],
    ['rsa', 'pkcs11-rsa-oaep'],
  ])('seal with the %s key in the token, open with it; a stanza moved to another container is refused', async (label, type) => {
    const recipient = await Pkcs11Recipient.open(token().uri({ object: label }));
    const identity = Pkcs11Identity.fromUri(token().uri({ object: label }));
    try {
      const context = newContext();
      const key = dataKey();
      const stanzas = await recipient.wrap(key, context);
      expect(stanzas[0]!.type).toBe(type);
      expect(Buffer.from((await identity.unwrap(stanzas, context))!)).toEqual(key);
      await expectCode(identity.unwrap(stanzas, newContext()), 'ERR_AUTHENTICATION_FAILED');
      const flipped: Stanza[] = [{ ...stanzas[0]!, body: Buffer.from(stanzas[0]!.body).fill(1, 10, 11) }];
      await expectCode(identity.unwrap(flipped, context), 'ERR_AUTHENTICATION_FAILED');
      expect(await identity.unwrap([{ type: 'file', args: ['x'], body: new Uint8Array(60) }], context)).toBeNull();
      expect(await identity.unwrap([{ ...stanzas[0]!, args: ['0000000000000000', ...stanzas[0]!.args.slice(1)] }], context)).toBeNull();
    } finally {
      await recipient.close();
      await identity.close();
    }
  });

  it('one attempt per key (issue 10 item 11): 63 stanzas of one token key are not tried at all; the order of stanzas does not matter', async () => {
    const recipient = await Pkcs11Recipient.open(token().uri({ object: 'known-kek' }));
    const identity = Pkcs11Identity.fromUri(token().uri({ object: 'known-kek' }));
    try {
      const context = newContext();
      const key = dataKey();
      const [genuine] = await recipient.wrap(key, context);
      const forged = Array.from({ length: 62 }, (_, i) => ({ ...genuine!, body: Buffer.from(genuine!.body).fill(i + 1, 20, 21) }));
      for (const stanzas of [
        [genuine!, ...forged],
        [...forged, genuine!],
      ]) {
        await expect(identity.unwrap(stanzas, context)).rejects.toMatchObject({
          code: 'ERR_MALFORMED_HEADER',
          message: expect.stringMatching(/63 recipient stanzas .*same key/),
        });
      }
      const foreign = { type: 'file', args: ['x'], body: new Uint8Array(60) };
      for (const stanzas of [
        [foreign, genuine!],
        [genuine!, foreign],
      ])
        expect(Buffer.from((await identity.unwrap(stanzas, context))!)).toEqual(key);
    } finally {
      await recipient.close();
      await identity.close();
    }
  });

  it('RSA-OAEP: a stanza wrapped by OpenSSL with the public key pkcs11-tool exported unwraps in the token', async () => {
    await token().pkcs11Tool(['--read-object', '--type', 'pubkey', '--id', '02', '-o', join(token().directory, 'rsa.der')]);
    const publicKey = createPublicKey({ key: await readFile(join(token().directory, 'rsa.der')), format: 'der', type: 'spki' });
    const context = newContext();
    const key = dataKey();
    // SoftHSM 2.6 does OAEP with SHA-1 only; the recipient records the hash it used.
    const body = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, boundValue(key, context));
    const identity = Pkcs11Identity.fromUri(token().uri());
    try {
      const stanza = { type: 'pkcs11-rsa-oaep', args: [rsaKeyId(publicKey), 'sha1'], body };
      expect(Buffer.from((await identity.unwrap([stanza], context))!)).toEqual(key);
      const recipient = await Pkcs11Recipient.open(token().uri({ object: 'rsa' }));
      expect(recipient.keyId).toBe(rsaKeyId(publicKey));
      await recipient.close();
    } finally {
      await identity.close();
    }
  });

  it('a whole container: sealed to two tokens, opened by either, survives a rewrap that removes one', async () => {
    const recipients = [
      await Pkcs11Recipient.open(token().uri({ object: 'kek' })),
      await Pkcs11Recipient.open(other().uri({ object: 'kek' })),
    ];
    const mine = Pkcs11Identity.fromUri(token().uri({ object: 'kek' }));
    const theirs = Pkcs11Identity.fromUri(other().uri());
    try {
      const output = join(token().directory, 'two.ovseal');
      const info = await seal({ output, entries: entries(), metadata, recipients });
      expect(info.recipients.map((r) => r.type)).toEqual(['pkcs11-aes-kwp', 'pkcs11-aes-kwp']);
      for (const identity of [mine, theirs]) {
        const model = await open(output, { identities: [identity] });
        expect(model.get('model.onnx')).toEqual(new Uint8Array(10_000).fill(3));
        model.dispose();
      }
      await rewrap(output, { identities: [mine], remove: (stanza) => recipients[1]!.describes(stanza) });
      await expectCode(open(output, { identities: [theirs] }), 'ERR_NO_MATCHING_KEY');
      (await open(output, { identities: [mine] })).dispose();
    } finally {
      for (const r of recipients) await r.close();
      await mine.close();
      await theirs.close();
    }
  });

  it('a wrong PIN, a missing token, a missing key: typed errors, and seal writes nothing', async () => {
    const wrongPin = join(token().directory, 'wrong.pin');
    await writeFile(wrongPin, '0000\n', { mode: 0o600 });
    const withPin = (uri: string, file: string) => uri.replace(/pin-source=file:[^&]+/, `pin-source=file:${file}`);
    const error = await expectCode(Pkcs11Recipient.open(withPin(token().uri({ object: 'kek' }), wrongPin)), 'ERR_PKCS11_PIN_INCORRECT');
    expect(error).toBeInstanceOf(Pkcs11Error);
    expect((error as Pkcs11Error).ckr).toBe('CKR_PIN_INCORRECT');
    await expectCode(
      Pkcs11Recipient.open(token().uri({ object: 'kek' }).replace('token=ovseal', 'token=absent')),
      'ERR_PKCS11_TOKEN_NOT_FOUND',
    );
    await expectCode(Pkcs11Recipient.open(token().uri({ object: 'nope' })), 'ERR_PKCS11_OBJECT_NOT_FOUND');
    await expectCode(Pkcs11Recipient.open(token().uri()), 'ERR_PKCS11_AMBIGUOUS');
    await expectCode(
      Pkcs11Recipient.open(
        token()
          .uri({ object: 'kek' })
          .replace(/&pin-source=[^&]+/, ''),
      ),
      'ERR_PKCS11_PIN_REQUIRED',
    );
    await chmod(wrongPin, 0o644);
    await expectCode(Pkcs11Recipient.open(withPin(token().uri({ object: 'kek' }), wrongPin)), 'ERR_INVALID_ARGUMENT');

    const recipient = await Pkcs11Recipient.open(token().uri({ object: 'kek' }));
    const output = join(token().directory, 'pin.ovseal');
    await seal({ output, entries: entries(), metadata, recipients: [recipient] });
    await recipient.close();
    await chmod(wrongPin, 0o600);
    for (const pinFile of [join(token().directory, 'missing.pin'), wrongPin]) {
      const identity = Pkcs11Identity.fromUri(withPin(token().uri({ object: 'kek' }), pinFile));
      try {
        await expectCode(
          open(output, { identities: [identity] }),
          pinFile === wrongPin ? 'ERR_PKCS11_PIN_INCORRECT' : 'ERR_INVALID_ARGUMENT',
        );
        // Also while another handle of this process holds the login: the PIN is still checked.
        const holder = await Pkcs11Recipient.open(token().uri({ object: 'kek' }));
        try {
          await expectCode(
            open(output, { identities: [identity] }),
            pinFile === wrongPin ? 'ERR_PKCS11_PIN_INCORRECT' : 'ERR_INVALID_ARGUMENT',
          );
        } finally {
          await holder.close();
        }
      } finally {
        await identity.close();
      }
    }
    // seal with a recipient that cannot log in never starts: nothing is written.
    const sealDir = join(token().directory, 'nothing');
    await mkdir(sealDir);
    await expectCode(
      Pkcs11Recipient.open(withPin(token().uri({ object: 'kek' }), wrongPin)).then((r) =>
        seal({ output: join(sealDir, 'x.ovseal'), entries: entries(), metadata, recipients: [r] }),
      ),
      'ERR_PKCS11_PIN_INCORRECT',
    );
    expect(await readdir(sealDir)).toEqual([]);
    expect(moduleState(token().modulePath, 'ovseal')).toEqual({ initialised: false, sessions: 0 });
    expect((await readdir(token().directory)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('a key deleted by pkcs11-tool after sealing: ERR_PKCS11_OBJECT_NOT_FOUND when opening, no plaintext', async () => {
    await token().pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', 'doomed', '--id', '0d', '--usage-wrap']);
    const recipient = await Pkcs11Recipient.open(token().uri({ object: 'doomed' }));
    const output = join(token().directory, 'doomed.ovseal');
    await seal({ output, entries: entries(), metadata, recipients: [recipient] });
    await recipient.close();
    await token().pkcs11Tool(['--delete-object', '--type', 'secrkey', '--label', 'doomed']);
    expect(await token().pkcs11Tool(['--list-objects'])).not.toContain('doomed');
    const identity = Pkcs11Identity.fromUri(token().uri({ object: 'doomed' }));
    try {
      await expectCode(open(output, { identities: [identity] }), 'ERR_PKCS11_OBJECT_NOT_FOUND');
    } finally {
      await identity.close();
    }
    // Without a named key the identity has none of its own: no match, not an error.
    const any = Pkcs11Identity.fromUri(other().uri());
    try {
      await expectCode(open(output, { identities: [any] }), 'ERR_NO_MATCHING_KEY');
    } finally {
      await any.close();
    }
  });

  it('sessions are pooled (at most maxSessions under load) and all closed, with the module finalised, by the last close', async () => {
    const recipient = await Pkcs11Recipient.open(token().uri({ object: 'kek' }), { maxSessions: 3 });
    const identity = Pkcs11Identity.fromUri(token().uri({ object: 'kek' }));
    const context = newContext();
    const wrapped = await Promise.all(Array.from({ length: 24 }, () => recipient.wrap(dataKey(), context)));
    expect(moduleState(token().modulePath, 'ovseal')).toEqual({ initialised: true, sessions: 3 });
    await Promise.all(wrapped.map((stanzas) => identity.unwrap(stanzas, context)));
    expect(moduleState(token().modulePath, 'ovseal').sessions).toBeLessThanOrEqual(3);
    await recipient.close();
    expect(moduleState(token().modulePath, 'ovseal').initialised).toBe(true);
    await identity.close();
    await identity.close();
    expect(moduleState(token().modulePath, 'ovseal')).toEqual({ initialised: false, sessions: 0 });
    await expectCode(recipient.wrap(dataKey(), context), 'ERR_PKCS11_FAILED');
  });

  it('a token whose user PIN was never set (locked for users): ERR_PKCS11_TOKEN_LOCKED', async () => {
    // pkcs11-tool initialises a fresh slot with an SO PIN only; SoftHSM then refuses user logins.
    execFileSync(
      'pkcs11-tool',
      ['--module', token().modulePath, '--slot-index', '2', '--init-token', '--label', 'locked', '--so-pin', '5678'],
      { env: { ...process.env, ...token().env }, stdio: 'pipe' },
    );
    await expectCode(
      Pkcs11Recipient.open(token().uri({ object: 'kek' }).replace('token=ovseal', 'token=locked')),
      'ERR_PKCS11_TOKEN_LOCKED',
    );
  });
});
