import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** What {@link checkSwtpmPrerequisites} found. */
export interface SwtpmPrerequisites {
  readonly ok: boolean;
  /** Executables not found on the PATH. */
  readonly missing: readonly string[];
  /** A sentence for a skip or failure message, with the install line. */
  readonly message: string;
}

export const SWTPM_INSTALL_LINE = 'sudo apt-get install swtpm swtpm-tools tpm2-tools';
const NEEDED = [
  'swtpm',
  'swtpm_setup',
  'swtpm_localca',
  'tpm2_quote',
  'tpm2_activatecredential',
  'tpm2_createprimary',
  'tpm2_create',
  'tpm2_load',
  'tpm2_unseal',
  'tpm2_ecdhzgen',
  'tpm2_rsadecrypt',
  'tpm2_flushcontext',
  'mkfifo',
];

function onPath(name: string, path: string): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Checks that swtpm and tpm2-tools are installed, for tests that need a TPM: they skip with
 * `message` when `ok` is false — or fail, when `OVSEAL_REQUIRE_ALL=1` (CI).
 *
 * @example
 * ```ts
 * const tpm = checkSwtpmPrerequisites();
 * describe.skipIf(!tpm.ok && process.env.OVSEAL_REQUIRE_ALL !== '1')('with swtpm', () => { … });
 * ```
 */
export function checkSwtpmPrerequisites(path = process.env['PATH'] ?? ''): SwtpmPrerequisites {
  const missing = NEEDED.filter((name) => !onPath(name, path));
  const message =
    missing.length === 0
      ? 'swtpm and tpm2-tools are installed'
      : `swtpm and tpm2-tools are needed (missing: ${missing.join(', ')}); install them with: ${SWTPM_INSTALL_LINE}`;
  return { ok: missing.length === 0, missing, message };
}
