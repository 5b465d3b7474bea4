// `ovseal tpm init`, `--recipient tpm-ecdh:…` and the matching identity, on a real software TPM.
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSwtpmPrerequisites, startSwtpm, type SwtpmInstance } from '@ovseal/key-tpm/testing';
import { ovsealAsync as ovseal, tempDir } from './helpers.js';

const prerequisites = checkSwtpmPrerequisites();
const requireAll = process.env['OVSEAL_REQUIRE_ALL'] === '1';
if (!prerequisites.ok && !requireAll) console.warn(`\n[@ovseal/cli] SKIPPING TPM CLI tests: ${prerequisites.message}\n`);
const describeTpm = prerequisites.ok || requireAll ? describe : describe.skip;

describeTpm('ovseal tpm (swtpm)', () => {
  let swtpm: SwtpmInstance;
  let dir: string;
  let cleanup: () => void;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (!prerequisites.ok) throw new Error(`OVSEAL_REQUIRE_ALL=1 and the TPM CLI tests cannot run: ${prerequisites.message}`);
    ({ dir, cleanup } = tempDir());
    swtpm = await startSwtpm();
    env = { TPM2TOOLS_TCTI: swtpm.tcti };
    writeFileSync(join(dir, 'model.onnx'), Buffer.from('weights only this device may read'));
  });
  afterAll(async () => {
    await swtpm?.close();
    cleanup?.();
  });

  for (const type of ['tpm-ecdh', 'tpm-rsa'] as const) {
    it(`${type}: init prints the public key; seal to it without a TPM; open on the device`, async () => {
      const handle = type === 'tpm-ecdh' ? '0x81000100' : '0x81000101';
      const init = await ovseal(dir, ['tpm', 'init', '--type', type, '--handle', handle], env);
      expect(init.code, init.stderr).toBe(0);
      expect(init.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      expect(init.stderr).toMatch(/created .* device key [0-9a-f]{64}/);
      writeFileSync(join(dir, `${type}.pem`), init.stdout);

      // The sealer needs only the public key: no TPM in its environment.
      const sealed = await ovseal(dir, ['seal', 'model.onnx', '-r', `${type}:${type}.pem`, '-o', `${type}.ovseal`], {
        TPM2TOOLS_TCTI: 'swtpm:host=127.0.0.1,port=1',
      });
      expect(sealed.code, sealed.stderr).toBe(0);

      const identity = init.stderr.match(/identity .*: (tpm:\S+)/)![1]!;
      const opened = await ovseal(dir, ['open', `${type}.ovseal`, '-i', identity, '-o', `out-${type}`], env);
      expect(opened.code, opened.stderr).toBe(0);
      expect(readFileSync(join(dir, `out-${type}`, 'model.onnx'), 'utf8')).toContain('only this device');

      const again = await ovseal(dir, ['tpm', 'init', '--type', type, '--handle', handle], env);
      expect(again.code).toBe(7);
      expect(again.stderr).toMatch(/^ovseal: error: /m);
    });
  }

  it('no TPM reachable: exit 7 with a hint', async () => {
    const result = await ovseal(dir, ['open', 'tpm-ecdh.ovseal', '-i', 'tpm:handle=0x81000100', '-o', 'never'], {
      TPM2TOOLS_TCTI: 'swtpm:host=127.0.0.1,port=1',
    });
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/^ovseal: hint: /m);
  });
});
