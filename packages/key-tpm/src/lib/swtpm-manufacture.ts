import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TpmError } from '../tpm-error.js';
import { SWTPM_INSTALL_LINE } from '../check-swtpm-prerequisites.js';
import { toolEnvironment } from './tools.js';

const run = promisify(execFile);

/** Config files of swtpm_setup and swtpm_localca pointing at a CA kept in `caDir`. */
async function writeCaConfig(caDir: string): Promise<string> {
  const setupConf = join(caDir, 'swtpm_setup.conf');
  await writeFile(
    join(caDir, 'swtpm-localca.conf'),
    [
      `statedir = ${caDir}`,
      `signingkey = ${join(caDir, 'signkey.pem')}`,
      `issuercert = ${join(caDir, 'issuercert.pem')}`,
      `certserial = ${join(caDir, 'certserial')}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(caDir, 'swtpm-localca.options'),
    '--platform-manufacturer ovseal-test\n--platform-version 2.1\n--platform-model swtpm\n',
  );
  await writeFile(
    setupConf,
    [
      'create_certs_tool = swtpm_localca',
      `create_certs_tool_config = ${join(caDir, 'swtpm-localca.conf')}`,
      `create_certs_tool_options = ${join(caDir, 'swtpm-localca.options')}`,
      '',
    ].join('\n'),
  );
  return setupConf;
}

/**
 * Manufactures a software TPM the way a vendor does (swtpm_setup): an RSA 2048 endorsement key
 * persistent at 0x81010001 with its certificate in NV 0x01c00002, and an ECC P-384 one at
 * 0x81010016 (certificate at 0x01c00016), both signed by a local CA kept in `caDir` (swtpm_localca
 * creates a root and an issuing CA there on first use). Existing state is kept. Returns the CA
 * certificates (issuing CA and root) as one PEM bundle: the "manufacturer CA" a verifier trusts.
 */
export async function manufactureSwtpm(stateDir: string, caDir: string): Promise<string> {
  await mkdir(caDir, { recursive: true, mode: 0o700 });
  const config = await writeCaConfig(caDir);
  try {
    // The tools' allow-listed environment: nothing of this process's secrets.
    await run(
      'swtpm_setup',
      ['--tpm2', '--tpmstate', stateDir, '--create-ek-cert', '--config', config, '--pcr-banks', '-', '--not-overwrite'],
      { timeout: 120_000, env: toolEnvironment(undefined) },
    );
  } catch (cause) {
    const error = cause as NodeJS.ErrnoException & { stderr?: string };
    if (error.code === 'ENOENT')
      throw new TpmError('ERR_TPM_TOOLS_MISSING', 'swtpm_setup was not found on the PATH', { hint: `install it: ${SWTPM_INSTALL_LINE}` });
    throw new TpmError('ERR_TPM_COMMAND', `swtpm_setup failed: ${(error.stderr ?? error.message).trim().split('\n').at(-1)}`, { cause });
  }
  const [issuer, root] = await Promise.all([
    readFile(join(caDir, 'issuercert.pem'), 'utf8'),
    readFile(join(caDir, 'swtpm-localca-rootca-cert.pem'), 'utf8'),
  ]);
  return `${issuer.trim()}\n${root.trim()}\n`;
}
