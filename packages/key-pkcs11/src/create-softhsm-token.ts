import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pkcs11Error } from './errors.js';
import { findSoftHsmModule, SOFTHSM_INSTALL_LINE } from './check-softhsm-prerequisites.js';

/** Options of {@link createSoftHsmToken}. */
export interface SoftHsmTokenOptions {
  /** Token label (default `ovseal`). */
  readonly label?: string;
  /** User PIN (default `1234`) and security officer PIN (default `5678`). */
  readonly pin?: string;
  readonly soPin?: string;
  /** Folder to create the token store in (default: a new temporary folder, removed by `remove()`). */
  readonly directory?: string;
}

/** A SoftHSM2 token in its own folder, for tests, demos and benchmarks. */
export interface SoftHsmToken {
  readonly directory: string;
  /** The `softhsm2.conf` to point `SOFTHSM2_CONF` at, before the module is first loaded. */
  readonly configFile: string;
  readonly modulePath: string;
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
  /** A 0600 file holding the PIN, for `pin-source=file:…`. */
  readonly pinFile: string;
  /** `{ SOFTHSM2_CONF }`, for child processes (`pkcs11-tool`, the `ovseal` command). */
  readonly env: { readonly SOFTHSM2_CONF: string };
  /** A `pkcs11:` URI of this token with module path and PIN file, plus the given path attributes. */
  uri(attributes?: Readonly<Record<string, string>>): string;
  /** Runs OpenSC's `pkcs11-tool` on this token (logged in), as a second, independent client. */
  pkcs11Tool(args: readonly string[]): Promise<string>;
  /** Deletes the folder (unless it was given). */
  remove(): Promise<void>;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error)
        reject(
          new Pkcs11Error('ERR_PKCS11_FAILED', `${file} ${args.join(' ')} failed: ${stderr.trim() || error.message}`, { cause: error }),
        );
      else resolve(stdout);
    });
  });
}

function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Initialises a SoftHSM2 token in a folder of its own (its own `softhsm2.conf`), with `softhsm2-util`.
 * The module reads `SOFTHSM2_CONF` when it is initialised: set it in the environment of the process
 * that opens the token (this function changes no environment).
 *
 * @example
 * ```ts
 * const token = await createSoftHsmToken({ label: 'ci' });
 * process.env.SOFTHSM2_CONF = token.configFile;
 * await token.pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', 'kek', '--id', '01']);
 * const recipient = await Pkcs11Recipient.open(token.uri({ object: 'kek' }));
 * ```
 */
export async function createSoftHsmToken(options: SoftHsmTokenOptions = {}): Promise<SoftHsmToken> {
  const modulePath = findSoftHsmModule();
  if (!modulePath) throw new Pkcs11Error('ERR_PKCS11_MODULE', 'SoftHSM2 is not installed', { hint: SOFTHSM_INSTALL_LINE });
  const owned = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'ovseal-softhsm-')));
  const label = options.label ?? 'ovseal';
  const pin = options.pin ?? '1234';
  const soPin = options.soPin ?? '5678';
  const configFile = join(directory, 'softhsm2.conf');
  const pinFile = join(directory, `${label.replace(/[^A-Za-z0-9_-]/g, '_')}.pin`);
  const env = { SOFTHSM2_CONF: configFile };
  const childEnv = { ...process.env, ...env };
  try {
    await mkdir(join(directory, 'tokens'), { recursive: true, mode: 0o700 });
    await writeFile(
      configFile,
      `directories.tokendir = ${join(directory, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
      { mode: 0o600 },
    );
    await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
    await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', soPin], childEnv);
  } catch (error) {
    if (owned) await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return {
    directory,
    configFile,
    modulePath,
    label,
    pin,
    soPin,
    pinFile,
    env,
    uri(attributes = {}) {
      const path = Object.entries({ token: label, ...attributes }).map(
        ([name, value]) => `${name}=${name === 'id' ? value : encode(value)}`,
      );
      return `pkcs11:${path.join(';')}?module-path=${modulePath}&pin-source=file:${pinFile}`;
    },
    pkcs11Tool(args) {
      return run('pkcs11-tool', ['--module', modulePath, '--token-label', label, '--login', '--pin', pin, ...args], childEnv);
    },
    async remove() {
      if (owned) await rm(directory, { recursive: true, force: true });
    },
  };
}
