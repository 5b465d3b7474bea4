// Findings of the adversarial review about the command line (issue 10 items 5, 6, 8, 10, 13, 14),
// against the real binary.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWrapContext, inspect } from '@ovseal/container';
import { FileRecipient, readKeyFile } from '@ovseal/key-file';
import { encodeCore, encodeHeaderUnchecked, parseHeader } from '../../container/dist/lib/format/header-codec.js';
import { deriveKeys, headerMac } from '../../container/dist/lib/crypto/derived-keys.js';
import { segmentNonce } from '../../container/dist/lib/format/payload-layout.js';
import { encryptSegment } from '../../container/dist/lib/crypto/segment-cipher.js';
import { ovseal, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
// eslint-disable-next-line no-control-regex -- control characters are what this test looks for
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

beforeAll(() => {
  ({ dir, cleanup } = tempDir());
  expect(ovseal(dir, ['keygen', '-o', 'k.key']).code).toBe(0);
  expect(ovseal(dir, ['keygen', '-o', 'new.key']).code).toBe(0);
  expect(ovseal(dir, ['sign-keygen', '-o', 'pub.pem']).code).toBe(0);
  mkdirSync(join(dir, 'model'));
  writeFileSync(join(dir, 'model', 'a.dat'), randomBytes(5000));
  mkdirSync(join(dir, 'model', 'sub'));
  writeFileSync(join(dir, 'model', 'sub', 'b.dat'), randomBytes(3000));
  expect(ovseal(dir, ['seal', 'model', '-r', 'file:k.key', '-o', 'm.ovseal', '--name', 'm']).code).toBe(0);
  expect(ovseal(dir, ['seal', 'model', '-r', 'file:k.key', '--sign', 'pub.pem', '-o', 'signed.ovseal', '--name', 'm']).code).toBe(0);
});
afterAll(() => cleanup());

/** A container sealed to k.key whose header carries `modelName` (a data-key holder can write any header). */
async function withModelName(modelName: string): Promise<Buffer> {
  const dataKey = randomBytes(32);
  const containerId = randomBytes(16);
  const salt = randomBytes(32);
  const keys = deriveKeys(dataKey, salt);
  const recipient = new FileRecipient(await readKeyFile(join(dir, 'k.key')));
  const stanzas = await recipient.wrap(dataKey, createWrapContext({ containerId, modelName, modelVersion: '1' }));
  const fields = {
    containerId,
    salt,
    commitment: keys.commitment,
    segmentSize: 4096,
    payloadDigest: new Uint8Array(32),
    createdAt: 1_700_000_000,
    notAfter: 0,
    modelName,
    modelVersion: '1',
    format: 'other' as const,
    entries: [{ name: 'x.bin', role: 'aux' as const, size: 0 }],
    signature: null,
    stanzas,
  };
  const withoutMac = encodeHeaderUnchecked(fields, 4096);
  const area = Buffer.alloc(4096);
  area.set(withoutMac, 0);
  area.set(headerMac(keys.macKey, withoutMac), withoutMac.length);
  return Buffer.concat([area, encryptSegment(keys.payloadKey, segmentNonce(0, 0, true), new Uint8Array(0))]);
}

describe('item 5: open -o DIR never writes through a symlink', () => {
  it('refuses a symlinked directory inside DIR, and writes nothing outside', () => {
    const outside = join(dir, 'outside-1');
    mkdirSync(outside);
    mkdirSync(join(dir, 'out5'));
    symlinkSync(outside, join(dir, 'out5', 'sub'));
    const result = ovseal(dir, ['open', 'm.ovseal', '-i', 'file:k.key', '-o', 'out5']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^ovseal: error: .*symbolic link/m);
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(join(dir, 'out5'))).toEqual(['sub']);
  });

  it('with --force, refuses to overwrite a symlink to a file outside DIR', () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    mkdirSync(join(dir, 'out5b'));
    symlinkSync(victim, join(dir, 'out5b', 'a.dat'));
    const result = ovseal(dir, ['open', 'm.ovseal', '-i', 'file:k.key', '-o', 'out5b', '--force']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/symbolic link/);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(lstatSync(join(dir, 'out5b', 'a.dat')).isSymbolicLink()).toBe(true);
  });

  it('creates the directories it needs with mode 0700', () => {
    const result = ovseal(dir, ['open', 'm.ovseal', '-i', 'file:k.key', '-o', 'out5c/deeper']);
    expect(result.code, result.stderr).toBe(0);
    for (const path of ['out5c', 'out5c/deeper', 'out5c/deeper/sub']) expect(statSync(join(dir, path)).mode & 0o777, path).toBe(0o700);
  });
});

describe('item 6: a failed open leaves nothing behind', () => {
  it('a target that is a directory is refused before any file is written', () => {
    mkdirSync(join(dir, 'out6', 'sub', 'b.dat'), { recursive: true });
    const result = ovseal(dir, ['open', 'm.ovseal', '-i', 'file:k.key', '-o', 'out6', '--force']);
    expect(result.code).not.toBe(0);
    expect(readdirSync(join(dir, 'out6')).sort()).toEqual(['sub']);
    expect(readdirSync(join(dir, 'out6', 'sub'))).toEqual(['b.dat']);
  });
});

describe('item 6: what was moved into place is removed when a later move fails', () => {
  it('no plaintext file and no created directory remain', async () => {
    const { extractEntries } = await import('../dist/lib/extract.js');
    const { rename } = await import('node:fs/promises');
    const entries = [
      { name: 'one.txt', role: 'aux' as const, data: Buffer.from('one') },
      { name: 'nested/two.txt', role: 'aux' as const, data: Buffer.from('two') },
      { name: 'three.txt', role: 'aux' as const, data: Buffer.from('three') },
    ];
    let moves = 0;
    // The third rename fails as a full disk or a vanished directory would make it fail.
    const failing = async (from: string, to: string) => {
      if (++moves === 3) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      return rename(from, to);
    };
    const out = join(dir, 'out6b');
    await expect(extractEntries(entries, out, false, failing)).rejects.toThrow(/EIO/);
    expect(moves).toBe(3);
    expect(() => readdirSync(out)).toThrow();
  });
});

describe('item 8: nothing from a container reaches the terminal raw', () => {
  it('a model name carrying a fake "signature … (trusted)" line is refused, and no control byte is printed', async () => {
    const fake = `m\u001b[2K\u001b[1A\u001b[2K\rsignature   ed25519 by 00ff (trusted)\u0007`;
    writeFileSync(join(dir, 'fake.ovseal'), await withModelName(fake));
    for (const args of [
      ['inspect', 'fake.ovseal'],
      ['inspect', 'fake.ovseal', '--json'],
      ['open', 'fake.ovseal', '-i', 'file:k.key', '-o', 'out8'],
      ['verify', 'fake.ovseal', '-i', 'file:k.key'],
    ]) {
      const result = ovseal(dir, args);
      expect(result.code, args.join(' ')).toBe(4);
      expect(CONTROL.test(result.stdout + result.stderr), args.join(' ')).toBe(false);
      expect(result.stdout + result.stderr).not.toContain('(trusted)');
    }
  });

  it('escapes control characters in anything it prints (here a file name given on the command line)', () => {
    const result = ovseal(dir, ['inspect', 'no\u001b[31msuch\u009b.ovseal']);
    expect(result.code).toBe(1);
    expect(CONTROL.test(result.stderr)).toBe(false);
    expect(result.stderr).toContain('\\u001b[31m');
  });
});

describe('item 10: an env: key is read once and leaves the environment', () => {
  it('the same env: key as identity and as --remove in one rewrap', () => {
    const key = ovseal(dir, ['keygen']).stdout.trim();
    expect(ovseal(dir, ['seal', 'model', '-r', 'env:OVSEAL_TEST_ENV_KEY', '-o', 'env.ovseal'], { OVSEAL_TEST_ENV_KEY: key }).code).toBe(0);
    const result = ovseal(
      dir,
      ['rewrap', 'env.ovseal', '-i', 'env:OVSEAL_TEST_ENV_KEY', '--remove', 'env:OVSEAL_TEST_ENV_KEY', '--add', 'file:new.key', '--json'],
      { OVSEAL_TEST_ENV_KEY: key },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ added: 1, removed: 1 });
  });
});

describe('item 13: signatures', () => {
  it('opening a signed container without --trust warns that the signer was not checked', () => {
    const result = ovseal(dir, ['open', 'signed.ovseal', '-i', 'file:k.key', '-o', 'out13']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^ovseal: warning: .*signed by [0-9a-f]{16}.*no --trust/m);
    expect(ovseal(dir, ['open', 'm.ovseal', '-i', 'file:k.key', '-o', 'out13b']).stderr).not.toMatch(/signed by/);
  });

  it('an invalid signature is refused without --trust too (exit 5, before any key is used), and nothing is written', () => {
    const bytes = readFileSync(join(dir, 'signed.ovseal'));
    const header = parseHeader(bytes.subarray(0, bytes.readUInt32BE(8)));
    const copy = Buffer.from(bytes);
    copy[16 + encodeCore(header).length + 1 + 32 + 5]! ^= 0x01; // a byte of the Ed25519 signature value
    writeFileSync(join(dir, 'badsig.ovseal'), copy);
    const result = ovseal(dir, ['open', 'badsig.ovseal', '-i', 'file:k.key', '-o', 'out13c']);
    expect(result.code, result.stderr).toBe(5);
    expect(() => readdirSync(join(dir, 'out13c'))).toThrow();
  });
});

describe('item 14: rewrap --rekey', () => {
  it('a new data key for the recipients given; the signature made again with --sign, or dropped with a warning', async () => {
    expect(ovseal(dir, ['seal', 'model', '-r', 'file:k.key', '--sign', 'pub.pem', '-o', 'rk.ovseal']).code).toBe(0);
    const before = await inspect(join(dir, 'rk.ovseal'));
    const resigned = ovseal(dir, [
      'rewrap',
      'rk.ovseal',
      '-i',
      'file:k.key',
      '--rekey',
      '--add',
      'file:new.key',
      '--sign',
      'pub.pem',
      '--json',
    ]);
    expect(resigned.code, resigned.stderr).toBe(0);
    const after = await inspect(join(dir, 'rk.ovseal'));
    expect(after.containerId).not.toBe(before.containerId);
    expect(after.recipients.map((r) => r.type)).toEqual(['file']);
    expect(after.signature?.keyId).toBe(before.signature?.keyId);
    expect(ovseal(dir, ['open', 'rk.ovseal', '-i', 'file:k.key', '-o', 'out14']).code).toBe(3);
    expect(ovseal(dir, ['verify', 'rk.ovseal', '-i', 'file:new.key', '--trust', 'pub.pem.pub']).code).toBe(0);

    const dropped = ovseal(dir, ['rewrap', 'rk.ovseal', '-i', 'file:new.key', '--rekey', '--add', 'file:new.key']);
    expect(dropped.code, dropped.stderr).toBe(0);
    expect(dropped.stderr).toMatch(/^ovseal: warning: .*signature .*dropped/m);
    expect((await inspect(join(dir, 'rk.ovseal'))).signature).toBeNull();
  });

  it('--rekey needs the recipients to keep; --remove makes no sense with it; the help says when --remove is not enough', () => {
    expect(ovseal(dir, ['rewrap', 'm.ovseal', '-i', 'file:k.key', '--rekey']).code).toBe(2);
    expect(ovseal(dir, ['rewrap', 'm.ovseal', '-i', 'file:k.key', '--rekey', '--add', 'file:k.key', '--remove', 'file']).code).toBe(2);
    const help = ovseal(dir, ['rewrap', '--help']).stdout;
    expect(help).toMatch(/--rekey/);
    expect(help).toMatch(/--remove .*(still|keeps)/s);
  });
});
