import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM module without types
import { writeTinyIr, ocrModels } from '@ovseal/test-fixtures';
import { spawnSync } from 'node:child_process';
import { BIN, ovseal, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;

beforeAll(() => {
  ({ dir, cleanup } = tempDir());
  writeTinyIr(dir, { addend: 1 });
  writeFileSync(join(dir, 'labels.txt'), 'a\nb\n');
});
afterAll(() => cleanup());

describe('ovseal CLI (real binary)', () => {
  it('prints usage and exits 2 without a command, 0 with --help', () => {
    expect(ovseal(dir, []).code).toBe(2);
    const help = ovseal(dir, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes');
  });

  it('--version reports the package version and the container format version it writes', () => {
    const { version } = JSON.parse(readFileSync(join(BIN, '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(ovseal(dir, ['--version']).stdout).toBe(`ovseal ${version} (container format v1)\n`);
  });

  it('keygen writes a 0600 key file and never overwrites it', () => {
    const first = ovseal(dir, ['keygen', '-o', 'k.key']);
    expect(first.code).toBe(0);
    expect(statSync(join(dir, 'k.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'k.key'), 'utf8')).toMatch(/^OVSEAL-KEK-1-/m);
    const again = ovseal(dir, ['keygen', '-o', 'k.key']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/^ovseal: error: .*already exists/m);
  });

  it('seals an IR pair with an aux file as the issue spells it, inspects, verifies and opens it', () => {
    expect(ovseal(dir, ['sign-keygen', '-o', 'pub.pem']).code).toBe(0);
    const sealed = ovseal(dir, [
      'seal',
      'model.xml',
      'model.bin',
      '--aux',
      'labels.txt',
      '-r',
      'file:k.key',
      '--sign',
      'pub.pem',
      '-o',
      'm.ovseal',
    ]);
    expect(sealed.stderr).toContain('sealed 3 entries');
    expect(sealed.code).toBe(0);

    const info = JSON.parse(ovseal(dir, ['inspect', 'm.ovseal', '--json']).stdout);
    expect(info.model).toMatchObject({ name: 'model', format: 'openvino-ir' });
    expect(info.entries.map((e: { role: string }) => e.role)).toEqual(['xml', 'weights', 'aux']);
    expect(info.signature.algorithm).toBe('ed25519');

    const verified = ovseal(dir, ['verify', 'm.ovseal', '--trust', 'pub.pem.pub', '--json']);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, decrypted: false });

    const opened = ovseal(dir, ['open', 'm.ovseal', '-i', 'file:k.key', '-o', 'out/']);
    expect(opened.code).toBe(0);
    expect(opened.stderr).toMatch(/ovseal: warning: .*plaintext/);
    for (const name of ['model.xml', 'model.bin', 'labels.txt']) {
      expect(readFileSync(join(dir, 'out', name))).toEqual(readFileSync(join(dir, name)));
    }
  });

  it('a tampered container exits 4 and leaves no plaintext file behind', () => {
    const bytes = readFileSync(join(dir, 'm.ovseal'));
    bytes[bytes.length - 5]! ^= 0x10;
    writeFileSync(join(dir, 'bad.ovseal'), bytes);
    const result = ovseal(dir, ['open', 'bad.ovseal', '-i', 'file:k.key', '-o', 'bad-out/']);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^ovseal: error: authentication failed/m);
    expect(existsSync(join(dir, 'bad-out')) ? readdirSync(join(dir, 'bad-out')) : []).toEqual([]);
  });

  it('a wrong key exits 3 with a hint; a group-readable key exits 7 with a chmod hint', () => {
    expect(ovseal(dir, ['keygen', '-o', 'other.key']).code).toBe(0);
    const wrong = ovseal(dir, ['open', 'm.ovseal', '-i', 'file:other.key', '-o', 'o2/']);
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/^ovseal: hint: /m);
    chmodSync(join(dir, 'other.key'), 0o644);
    const open = ovseal(dir, ['open', 'm.ovseal', '-i', 'file:other.key', '-o', 'o2/', '--json']);
    expect(open.code).toBe(7);
    expect(JSON.parse(open.stdout).error).toMatchObject({ code: 'ERR_KEY_PERMISSIONS', hint: expect.stringContaining('chmod 600') });
    chmodSync(join(dir, 'other.key'), 0o600);
  });

  it('rewrap adds and removes recipients in place; the signature survives', () => {
    const before = readFileSync(join(dir, 'm.ovseal'));
    const added = ovseal(dir, ['rewrap', 'm.ovseal', '-i', 'file:k.key', '--add', 'file:other.key', '--remove', 'file:k.key', '--json']);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ added: 1, removed: 1, inPlace: true });
    const after = readFileSync(join(dir, 'm.ovseal'));
    const payloadOffset = before.readUInt32BE(12);
    expect(after.subarray(payloadOffset).equals(before.subarray(payloadOffset))).toBe(true);
    expect(ovseal(dir, ['open', 'm.ovseal', '-i', 'file:k.key', '-o', 'o3/']).code).toBe(3);
    expect(ovseal(dir, ['verify', 'm.ovseal', '--trust', 'pub.pem.pub', '-i', 'file:other.key']).code).toBe(0);
    const none = ovseal(dir, ['rewrap', 'm.ovseal', '-i', 'file:other.key', '--remove', 'file:k.key']);
    expect(none.code).toBe(2);
  });

  it('an interrupted rewrap: open explains the journal; rewrap --recover restores the header', () => {
    expect(ovseal(dir, ['seal', 'model.xml', 'model.bin', '-r', 'file:other.key', '-o', 'j.ovseal']).code).toBe(0);
    const good = readFileSync(join(dir, 'j.ovseal'));
    const payloadOffset = good.readUInt32BE(12);
    writeFileSync(join(dir, 'j.ovseal.rewrap-journal'), good.subarray(0, payloadOffset));
    const torn = Buffer.from(good);
    torn.fill(0, 40, 200);
    writeFileSync(join(dir, 'j.ovseal'), torn);
    const failed = ovseal(dir, ['open', 'j.ovseal', '-i', 'file:other.key', '-o', 'j-out/']);
    expect(failed.code).toBe(4);
    expect(failed.stderr).toContain('ovseal: hint: restore the header with `ovseal rewrap --recover j.ovseal`');
    expect(ovseal(dir, ['rewrap', 'j.ovseal', '-i', 'file:other.key', '--add', 'file:k.key']).code).toBe(2);
    const recovered = ovseal(dir, ['rewrap', '--recover', 'j.ovseal']);
    expect(recovered.code).toBe(0);
    expect(readFileSync(join(dir, 'j.ovseal')).equals(good)).toBe(true);
    expect(existsSync(join(dir, 'j.ovseal.rewrap-journal'))).toBe(false);
    expect(ovseal(dir, ['open', 'j.ovseal', '-i', 'file:other.key', '-o', 'j-out/']).code).toBe(0);
  });

  it('seals an ONNX model with env: recipients and opens it with the same key from a file', () => {
    const key = ovseal(dir, ['keygen']).stdout.trim();
    const sealed = ovseal(dir, ['seal', ocrModels.classifier, '-r', 'env:OVSEAL_TEST_KEY', '-o', 'cls.ovseal'], { OVSEAL_TEST_KEY: key });
    expect(sealed.code).toBe(0);
    writeFileSync(join(dir, 'env.key'), key + '\n', { mode: 0o600 });
    const opened = ovseal(dir, ['open', 'cls.ovseal', '-i', 'file:env.key', '-o', 'cls/']);
    expect(opened.code).toBe(0);
    expect(readdirSync(join(dir, 'cls'))).toEqual(['ch_ppocr_mobile_v2.0_cls_infer.onnx']);
  });

  it('usage errors exit 2 with an age-style message', () => {
    const missing = ovseal(dir, ['seal', 'model.xml', 'model.bin', '-o', 'x.ovseal']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^ovseal: error: missing -r\/--recipient\novseal: hint: /m);
    expect(ovseal(dir, ['seal', 'model.xml', '-r', 'file:k.key', '-o', 'x.ovseal']).stderr).toContain('needs both its .xml and its .bin');
    expect(ovseal(dir, ['frobnicate']).code).toBe(2);
    expect(ovseal(dir, ['inspect', 'm.ovseal', '--bogus']).code).toBe(2);
    expect(ovseal(dir, ['seal', 'model.xml', 'model.bin', '-r', 'nope:x', '-o', 'x.ovseal']).stderr).toContain('unknown key URI scheme');
    expect(existsSync(join(dir, 'x.ovseal'))).toBe(false);
  });

  it('draws a progress bar for large files on a terminal only', () => {
    writeFileSync(join(dir, 'big.dat'), Buffer.alloc(40 * 1024 * 1024, 7));
    const piped = ovseal(dir, ['seal', 'big.dat', '-r', 'file:k.key', '-o', 'big.ovseal']);
    expect(piped.code).toBe(0);
    expect(piped.stderr).not.toContain('\r');
    // script(1) gives the command a pseudo-terminal.
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${BIN} seal big.dat -r file:k.key -o big2.ovseal`, '/dev/null'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/\rsealing \[#+/);
    expect(tty.stdout).toContain('100%');
  });
});
