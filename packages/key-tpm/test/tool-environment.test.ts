// Issue 10 item 10: tpm2-tools children inherited the whole environment, an `env:` key included.
// They now get an allow-listed environment. A tool named tpm2_<name> is whatever is first on the
// PATH: here a script that prints what it was given.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tpm2Tools } from '../src/lib/tools.js';

describe('the environment tpm2-tools children see', () => {
  let dir: string;
  const saved = { PATH: process.env['PATH'] };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ovseal-tpm-env-'));
    await writeFile(join(dir, 'tpm2_printenv'), '#!/bin/sh\nenv\n');
    await chmod(join(dir, 'tpm2_printenv'), 0o755);
    process.env['PATH'] = `${dir}:${saved.PATH}`;
    process.env['OVSEAL_MODEL_KEY'] = 'OVSEAL-KEK-1-secret-that-must-not-leak';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'aws-secret-that-must-not-leak';
    process.env['TSS2_LOG'] = 'all+none';
  });
  afterAll(async () => {
    process.env['PATH'] = saved.PATH;
    delete process.env['OVSEAL_MODEL_KEY'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
    delete process.env['TSS2_LOG'];
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the TCTI, PATH and the TSS settings, and no secret of this process', async () => {
    const printed = (await new Tpm2Tools({ tcti: 'swtpm:host=127.0.0.1,port=1' }).run('printenv', [])).toString();
    expect(printed).toContain('TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=1');
    expect(printed).toContain(`PATH=${dir}:`);
    expect(printed).toContain('TSS2_LOG=all+none');
    expect(printed).not.toContain('secret-that-must-not-leak');
    expect(printed).not.toMatch(/^OVSEAL_MODEL_KEY=/m);
  });
});
