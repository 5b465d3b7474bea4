import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** What {@link checkSoftHsmPrerequisites} found. */
export interface SoftHsmPrerequisites {
  readonly ok: boolean;
  /** The SoftHSM2 module, when found. */
  readonly modulePath: string | undefined;
  /** What is missing: `softhsm2-util`, `pkcs11-tool`, `libsofthsm2.so`. */
  readonly missing: readonly string[];
  /** A sentence for a skip or failure message, with the install line. */
  readonly message: string;
}

export const SOFTHSM_INSTALL_LINE = 'sudo apt-get install softhsm2 opensc';

const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
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

/** The SoftHSM2 module: `OVSEAL_SOFTHSM_MODULE`, else the usual install locations. */
export function findSoftHsmModule(): string | undefined {
  const configured = process.env['OVSEAL_SOFTHSM_MODULE'];
  if (configured) return existsSync(configured) ? configured : undefined;
  return MODULE_CANDIDATES.find((candidate) => existsSync(candidate));
}

/**
 * Checks that SoftHSM2 (module and `softhsm2-util`) and OpenSC's `pkcs11-tool` are installed, for
 * tests that need a token: they skip with `message` when `ok` is false, or fail under
 * `OVSEAL_REQUIRE_ALL=1` (CI).
 *
 * @example
 * ```ts
 * const hsm = checkSoftHsmPrerequisites();
 * describe.skipIf(!hsm.ok && process.env.OVSEAL_REQUIRE_ALL !== '1')('with SoftHSM', () => { … });
 * ```
 */
export function checkSoftHsmPrerequisites(path = process.env['PATH'] ?? ''): SoftHsmPrerequisites {
  const modulePath = findSoftHsmModule();
  const missing = [...['softhsm2-util', 'pkcs11-tool'].filter((tool) => !onPath(tool, path)), ...(modulePath ? [] : ['libsofthsm2.so'])];
  const message =
    missing.length === 0
      ? 'SoftHSM2 and pkcs11-tool are installed'
      : `SoftHSM2 and OpenSC's pkcs11-tool are needed (missing: ${missing.join(', ')}); install them with: ${SOFTHSM_INSTALL_LINE}`;
  return { ok: missing.length === 0, modulePath, missing, message };
}
