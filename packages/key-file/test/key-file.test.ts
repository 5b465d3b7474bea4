import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createWrapContext, inspect, open, OvsealError, rewrap, seal, sealToBuffer, verify } from '@ovseal/container';
import {
  decodeKey,
  encodeKey,
  FileIdentity,
  FileRecipient,
  generateKey,
  KEY_PREFIX,
  keyId,
  KeyFileError,
  readKeyFile,
  writeKeyFile,
} from '@ovseal/key-file';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovseal-key-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<OvsealError> {
  let error: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected ${code}`).toBeInstanceOf(OvsealError);
  expect((error as OvsealError).code).toBe(code);
  return error as OvsealError;
}

/** The same construction under the `env` stanza type (what EnvRecipient writes). */
class EnvStanzaRecipient extends FileRecipient {
  protected override readonly stanzaType = 'env' as const;
}

const MODEL = new Uint8Array(Buffer.from('<net name="m"/>'));

async function sealWith(recipients: FileRecipient[], name = 'm') {
  return sealToBuffer({ entries: [{ name: 'model.xml', role: 'xml', data: MODEL }], metadata: { name, version: '1' }, recipients });
}

describe('key text', () => {
  test('generateKey gives 32 random bytes; keyId names a key with 16 hex digits', () => {
    const a = generateKey();
    const b = generateKey();
    expect(a).toHaveLength(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(keyId(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyId(a)).toBe(keyId(Uint8Array.from(a)));
    expect(keyId(a)).not.toBe(keyId(b));
  });

  test('encodeKey / decodeKey round trip', () => {
    for (let i = 0; i < 50; i++) {
      const key = generateKey();
      const text = encodeKey(key);
      expect(text.startsWith(KEY_PREFIX)).toBe(true);
      expect(text).toMatch(/^OVSEAL-KEK-1-[A-Za-z0-9_-]+$/);
      expect(Buffer.from(decodeKey(text, 'test')).equals(Buffer.from(key))).toBe(true);
      expect(Buffer.from(decodeKey(`  ${text}\n`, 'test')).equals(Buffer.from(key))).toBe(true);
    }
  });

  test('any damaged character is caught by the checksum: ERR_KEY_FORMAT', async () => {
    const text = encodeKey(generateKey());
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = KEY_PREFIX.length; i < text.length; i++) {
      const replacement = alphabet[(alphabet.indexOf(text[i]!) + 1) % alphabet.length]!;
      const damaged = text.slice(0, i) + replacement + text.slice(i + 1);
      // The last character carries 2 padding bits that base64url decoders ignore; those alone may not change the bytes.
      if (Buffer.from(damaged.slice(KEY_PREFIX.length), 'base64url').equals(Buffer.from(text.slice(KEY_PREFIX.length), 'base64url')))
        continue;
      await expectCode(() => decodeKey(damaged, 'test'), 'ERR_KEY_FORMAT');
    }
    await expectCode(() => decodeKey(text.slice(0, -4), 'test'), 'ERR_KEY_FORMAT');
    await expectCode(() => decodeKey(`${text}AAAA`, 'test'), 'ERR_KEY_FORMAT');
    const wrongPrefix = await expectCode(() => decodeKey(text.replace('OVSEAL-KEK-1-', 'OVSEAL-KEK-2-'), 'test'), 'ERR_KEY_FORMAT');
    expect(wrongPrefix.hint).toContain('keygen');
    // A bare base64url key is not accepted from a file (only from a variable, see EnvRecipient).
    await expectCode(() => decodeKey(Buffer.from(generateKey()).toString('base64url'), 'test'), 'ERR_KEY_FORMAT');
  });
});

describe('key files', () => {
  test('writeKeyFile writes mode 0600 with comments; readKeyFile reads the key back', async () => {
    const key = generateKey();
    const path = join(dir, 'model.key');
    await writeKeyFile(path, key);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');
    expect(text).toContain(`# key id: ${keyId(key)}`);
    expect(text).toContain(encodeKey(key));
    expect(Buffer.from(await readKeyFile(path)).equals(Buffer.from(key))).toBe(true);
    expect(await readdir(dir)).toEqual(['model.key']);
  });

  test('writeKeyFile refuses to overwrite an existing file', async () => {
    const path = join(dir, 'model.key');
    const first = generateKey();
    await writeKeyFile(path, first);
    const error = await expectCode(writeKeyFile(path, generateKey()), 'ERR_KEY_EXISTS');
    expect(error).toBeInstanceOf(KeyFileError);
    expect(Buffer.from(await readKeyFile(path)).equals(Buffer.from(first))).toBe(true);
    await writeFile(join(dir, 'other'), 'not a key');
    await expectCode(writeKeyFile(join(dir, 'other'), generateKey()), 'ERR_KEY_EXISTS');
    expect(await readFile(join(dir, 'other'), 'utf8')).toBe('not a key');
    expect((await readdir(dir)).sort()).toEqual(['model.key', 'other']);
  });

  test.skipIf(process.platform === 'win32')(
    'a key file readable by group or others is refused: ERR_KEY_PERMISSIONS, hint chmod 600',
    async () => {
      const path = join(dir, 'model.key');
      await writeKeyFile(path, generateKey());
      for (const mode of [0o644, 0o640, 0o604, 0o660]) {
        await chmod(path, mode);
        const error = await expectCode(readKeyFile(path), 'ERR_KEY_PERMISSIONS');
        expect(error.hint).toContain('chmod 600');
        await expectCode(FileIdentity.fromFile(path), 'ERR_KEY_PERMISSIONS');
        await expectCode(FileRecipient.fromFile(path), 'ERR_KEY_PERMISSIONS');
      }
      for (const mode of [0o600, 0o400]) {
        await chmod(path, mode);
        expect(await readKeyFile(path)).toHaveLength(32);
      }
    },
  );

  test('a missing key file: ERR_KEY_NOT_FOUND', async () => {
    await expectCode(readKeyFile(join(dir, 'missing.key')), 'ERR_KEY_NOT_FOUND');
  });

  test('damaged or ambiguous key files: ERR_KEY_FORMAT', async () => {
    const key = generateKey();
    const cases: Record<string, string> = {
      'empty.key': '',
      'comments-only.key': '# nothing here\n\n',
      'two-keys.key': `${encodeKey(key)}\n${encodeKey(generateKey())}\n`,
      'damaged.key': `# key\n${encodeKey(key).slice(0, -2)}xx\n`,
      'garbage.key': 'hello\n',
    };
    for (const [name, text] of Object.entries(cases)) {
      await writeFile(join(dir, name), text, { mode: 0o600 });
      await expectCode(readKeyFile(join(dir, name)), 'ERR_KEY_FORMAT');
    }
  });

  test('I/O failures are typed OvsealErrors too (a missing directory, a directory instead of a file)', async () => {
    const typed = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, String(error)).toBeInstanceOf(OvsealError);
      return error as OvsealError;
    };
    const missing = await typed(writeKeyFile(join(dir, 'missing', 'dir', 'model.key'), generateKey()));
    expect(missing.code).toBe('ERR_KEY_IO');
    expect(missing.message).not.toMatch(/\.tmp/);
    const keyDir = join(dir, 'a-directory.key');
    await mkdir(keyDir, { mode: 0o700 });
    expect((await typed(readKeyFile(keyDir))).code).toBe('ERR_KEY_IO');
  });

  test('CRLF line endings, blank lines and comments are fine', async () => {
    const key = generateKey();
    await writeFile(join(dir, 'crlf.key'), `# a comment\r\n\r\n  ${encodeKey(key)}  \r\n# trailing\r\n`, { mode: 0o600 });
    expect(Buffer.from(await readKeyFile(join(dir, 'crlf.key'))).equals(Buffer.from(key))).toBe(true);
  });
});

describe('FileRecipient and FileIdentity', () => {
  test('seal to a key file, open with it', async () => {
    const path = join(dir, 'model.key');
    await writeKeyFile(path, generateKey());
    const recipient = await FileRecipient.fromFile(path);
    const output = join(dir, 'm.ovseal');
    await seal({
      output,
      entries: [{ name: 'model.xml', role: 'xml', data: MODEL }],
      metadata: { name: 'm', version: '1' },
      recipients: [recipient],
    });
    const info = await inspect(output);
    expect(info.recipients).toEqual([{ type: 'file', args: [recipient.keyId] }]);
    const opened = await open(output, { identities: [await FileIdentity.fromFile(path)] });
    expect(Buffer.from(opened.get('model.xml')).equals(Buffer.from(MODEL))).toBe(true);
    expect((await verify(output, { identities: [await FileIdentity.fromFile(path)] })).decrypted).toBe(true);
  });

  test('FileIdentity opens `env` stanzas of the same key, and an `env`-type identity opens `file` stanzas', async () => {
    const key = generateKey();
    const envSealed = await sealWith([new EnvStanzaRecipient(key)]);
    expect((await inspect(envSealed)).recipients[0]!.type).toBe('env');
    expect((await open(envSealed, { identities: [new FileIdentity(key)] })).get('model.xml')).toEqual(MODEL);
    const fileSealed = await sealWith([new FileRecipient(key)]);
    expect((await inspect(fileSealed)).recipients[0]!.type).toBe('file');
    expect((await open(fileSealed, { identities: [new FileIdentity(key)] })).get('model.xml')).toEqual(MODEL);
  });

  test('another key: ERR_NO_MATCHING_KEY; unwrap says "not mine" (null) for other keys\' stanzas', async () => {
    const bytes = await sealWith([new FileRecipient(generateKey())]);
    await expectCode(open(bytes, { identities: [new FileIdentity(generateKey())] }), 'ERR_NO_MATCHING_KEY');
    const context = createWrapContext({ containerId: new Uint8Array(16), modelName: 'm', modelVersion: '1' });
    const stanzas = await new FileRecipient(generateKey()).wrap(new Uint8Array(32).fill(7), context);
    expect(await new FileIdentity(generateKey()).unwrap(stanzas, context)).toBeNull();
    expect(await new FileIdentity(generateKey()).unwrap([{ type: 'aws-kms', args: ['arn'], body: new Uint8Array(5) }], context)).toBeNull();
  });

  test('wrap/unwrap directly: bound to the context (container id, model name, version)', async () => {
    const key = generateKey();
    const dataKey = new Uint8Array(32).fill(9);
    const context = createWrapContext({ containerId: new Uint8Array(16).fill(1), modelName: 'det', modelVersion: '4' });
    const stanzas = await new FileRecipient(key).wrap(dataKey, context);
    expect(stanzas).toHaveLength(1);
    expect(stanzas[0]!.body).toHaveLength(60);
    expect(await new FileIdentity(key).unwrap(stanzas, context)).toEqual(Buffer.from(dataKey));
    for (const other of [
      createWrapContext({ containerId: new Uint8Array(16).fill(2), modelName: 'det', modelVersion: '4' }),
      createWrapContext({ containerId: new Uint8Array(16).fill(1), modelName: 'det2', modelVersion: '4' }),
      createWrapContext({ containerId: new Uint8Array(16).fill(1), modelName: 'det', modelVersion: '5' }),
    ]) {
      await expectCode(new FileIdentity(key).unwrap(stanzas, other), 'ERR_AUTHENTICATION_FAILED');
    }
    const tampered = { ...stanzas[0]!, body: Uint8Array.from(stanzas[0]!.body) };
    tampered.body[20]! ^= 1;
    await expectCode(new FileIdentity(key).unwrap([tampered], context), 'ERR_AUTHENTICATION_FAILED');
  });

  test('a stanza spliced in from another container of the same key does not open it', async () => {
    const key = generateKey();
    const a = await sealWith([new FileRecipient(key)]);
    const b = await sealWith([new FileRecipient(key)]);
    // One stanza each, at the end of the header, right before the 32-byte MAC; bodies are 60 bytes.
    const macStartA = new DataView(a.buffer, a.byteOffset).getUint32(8) - 32;
    const macStartB = new DataView(b.buffer, b.byteOffset).getUint32(8) - 32;
    const spliced = Uint8Array.from(a);
    spliced.set(b.subarray(macStartB - 60, macStartB), macStartA - 60);
    await expectCode(open(spliced, { identities: [new FileIdentity(key)] }), 'ERR_AUTHENTICATION_FAILED');
  });

  test('keys must be 32 bytes', async () => {
    await expectCode(() => new FileRecipient(new Uint8Array(16)), 'ERR_KEY_FORMAT');
    await expectCode(() => new FileIdentity(new Uint8Array(33)), 'ERR_KEY_FORMAT');
  });

  test("describes() picks this key's stanzas, for rewrap --remove", async () => {
    const oldKey = generateKey();
    const newKey = generateKey();
    const path = join(dir, 'm.ovseal');
    await seal({
      output: path,
      entries: [{ name: 'model.xml', role: 'xml', data: MODEL }],
      metadata: { name: 'm', version: '1' },
      recipients: [new EnvStanzaRecipient(oldKey)],
    });
    const old = new FileRecipient(oldKey);
    const result = await rewrap(path, {
      identities: [new FileIdentity(oldKey)],
      add: [new FileRecipient(newKey)],
      remove: (s) => old.describes(s),
    });
    expect(result).toMatchObject({ added: 1, removed: 1, inPlace: true });
    await expectCode(open(path, { identities: [new FileIdentity(oldKey)] }), 'ERR_NO_MATCHING_KEY');
    expect((await open(path, { identities: [new FileIdentity(newKey)] })).get('model.xml')).toEqual(MODEL);
  });
});

describe('one attempt per key (issue 10 item 11)', () => {
  test('a header with 63 stanzas of one key id: refused with a typed error, no stanza tried', async () => {
    const key = generateKey();
    const context = createWrapContext({ containerId: new Uint8Array(16).fill(7), modelName: 'm', modelVersion: '1' });
    const [genuine] = await new FileRecipient(key).wrap(new Uint8Array(32).fill(9), context);
    const forged = Array.from({ length: 62 }, () => ({ ...genuine!, body: Uint8Array.from(genuine!.body).fill(1, 12, 44) }));
    for (const stanzas of [
      [...forged, genuine!],
      [genuine!, ...forged],
    ]) {
      const error = await expectCode(new FileIdentity(key).unwrap(stanzas, context), 'ERR_MALFORMED_HEADER');
      expect(error.message).toMatch(/63 recipient stanzas .*same key/);
    }
  });

  test('file and env stanzas of one key are the same key: seal refuses to write both', async () => {
    const key = generateKey();
    await expectCode(sealWith([new FileRecipient(key), new EnvStanzaRecipient(key)]), 'ERR_INVALID_ARGUMENT');
  });
});
