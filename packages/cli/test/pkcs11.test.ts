// `ovseal seal -r pkcs11:… --sign pkcs11:…`, `ovseal open -i pkcs11:…` and `ovseal verify --trust`
// with the public key pkcs11-tool exported: the real binary against a SoftHSM2 token, with keys
// made by pkcs11-tool.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSoftHsmPrerequisites, createSoftHsmToken, type SoftHsmToken } from '@ovseal/key-pkcs11';
import { ovsealAsync as ovseal } from './helpers.js';

const prerequisites = checkSoftHsmPrerequisites();
const requireAll = process.env['OVSEAL_REQUIRE_ALL'] === '1';
if (!prerequisites.ok && !requireAll) console.warn(`\n[@ovseal/cli] SKIPPING pkcs11 tests: ${prerequisites.message}\n`);

describe.skipIf(!prerequisites.ok && !requireAll)('ovseal CLI with pkcs11: URIs (SoftHSM2)', () => {
  let token: SoftHsmToken;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (!prerequisites.ok) throw new Error(`OVSEAL_REQUIRE_ALL=1 and the SoftHSM tests cannot run: ${prerequisites.message}`);
    dir = mkdtempSync(join(tmpdir(), 'ovseal-cli-pkcs11-'));
    token = await createSoftHsmToken({ label: 'cli', directory: dir });
    env = { ...token.env };
    await token.pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', 'kek', '--id', '01', '--usage-wrap']);
    await token.pkcs11Tool(['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'publisher', '--id', '02', '--usage-sign']);
    await token.pkcs11Tool(['--read-object', '--type', 'pubkey', '--id', '02', '-o', join(dir, 'publisher.der')]);
    writeFileSync(join(dir, 'model.onnx'), Buffer.from('onnx bytes that must stay secret'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('seals to a token key, signs in the token; verify --trust takes the exported DER; open decrypts', async () => {
    const sealed = await ovseal(
      dir,
      ['seal', 'model.onnx', '-r', token.uri({ object: 'kek' }), '--sign', token.uri({ object: 'publisher' }), '-o', 'm.ovseal', '--json'],
      env,
    );
    expect(sealed.stderr).toBe('');
    expect(sealed.code).toBe(0);
    const info = JSON.parse(sealed.stdout);
    expect(info.recipients[0].type).toBe('pkcs11-aes-kwp');
    expect(info.signature.algorithm).toBe('ecdsa-p256');

    const verified = await ovseal(dir, ['verify', 'm.ovseal', '--trust', 'publisher.der', '--json'], env);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      ok: true,
      signature: { algorithm: 'ecdsa-p256', keyId: info.signature.keyId },
      decrypted: false,
    });

    const opened = await ovseal(
      dir,
      ['open', 'm.ovseal', '-i', token.uri({ object: 'kek' }), '--trust', 'publisher.der', '-o', 'out'],
      env,
    );
    expect(opened.stderr).not.toContain('error');
    expect(opened.code).toBe(0);
    expect(readdirSync(join(dir, 'out'))).toEqual(['model.onnx']);
  });

  it('a wrong PIN: exit 7 with ovseal: error and a hint, and no container', async () => {
    writeFileSync(join(dir, 'bad.pin'), '0000', { mode: 0o600 });
    const uri = token.uri({ object: 'publisher' }).replace(/pin-source=file:[^&]+/, `pin-source=file:${join(dir, 'bad.pin')}`);
    const result = await ovseal(dir, ['seal', 'model.onnx', '-r', token.uri({ object: 'kek' }), '--sign', uri, '-o', 'bad.ovseal'], env);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/^ovseal: error: .*CKR_PIN_INCORRECT/m);
    expect(result.stderr).toMatch(/^ovseal: hint: /m);
    expect(readdirSync(dir).filter((f) => f.startsWith('bad.ovseal'))).toEqual([]);
  });

  it('a PIN in the URI (pin-value) works with a warning', async () => {
    const uri = token.uri({ object: 'publisher' }).replace(/pin-source=file:[^&]+/, `pin-value=${token.pin}`);
    const result = await ovseal(dir, ['seal', 'model.onnx', '-r', token.uri({ object: 'kek' }), '--sign', uri, '-o', 'v.ovseal'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('ovseal: warning: the PIN is in the pkcs11: URI');
  });
});
