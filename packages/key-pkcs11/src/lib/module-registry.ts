import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import type { PKCS11 } from 'pkcs11js';
import { Pkcs11Error } from '../errors.js';
import { CKF_OS_LOCKING_OK } from './ck.js';
import { ckrOf, toPkcs11Error } from './to-pkcs11-error.js';

/** A PKCS#11 module loaded and initialised once for this process, shared by every token handle. */
export interface LoadedModule {
  readonly path: string;
  readonly api: PKCS11;
}

interface Entry extends LoadedModule {
  refs: number;
  /** False when something else in this process had initialised the module: then we never finalize it. */
  readonly ownsInitialization: boolean;
}

// C_Initialize and C_Finalize act on the whole process, so modules are counted here, once per path.
const modules = new Map<string, Entry>();

/** Where `module-name=NAME` is looked for: p11-kit's module folder and the usual library folders. */
const MODULE_FOLDERS = [
  '/usr/lib/x86_64-linux-gnu/pkcs11',
  '/usr/lib/aarch64-linux-gnu/pkcs11',
  '/usr/lib/pkcs11',
  '/usr/lib64/pkcs11',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib',
  '/usr/lib64',
  '/usr/local/lib',
];

/**
 * The module file for a URI: `module-path`, else `module-name` (`softhsm2` → `libsofthsm2.so` in
 * the usual folders), else the caller's default, else `OVSEAL_PKCS11_MODULE`.
 */
export function resolveModulePath(modulePath: string | undefined, moduleName: string | undefined, fallback: string | undefined): string {
  if (modulePath !== undefined) return modulePath;
  if (moduleName !== undefined) {
    if (moduleName.includes('/'))
      throw new Pkcs11Error(
        'ERR_PKCS11_MODULE',
        `module-name ${JSON.stringify(moduleName)} must be a bare name; use module-path for a path`,
      );
    const file = moduleName.endsWith('.so') ? moduleName : `lib${moduleName}.so`;
    const candidates = MODULE_FOLDERS.flatMap((folder) => [join(folder, file), join(folder, moduleName.replace(/^lib|\.so$/g, ''), file)]);
    const found = candidates.find((candidate) => existsSync(candidate));
    if (!found)
      throw new Pkcs11Error('ERR_PKCS11_MODULE', `PKCS#11 module ${JSON.stringify(moduleName)} not found in ${MODULE_FOLDERS.join(', ')}`, {
        hint: 'give module-path=/path/to/module.so in the URI',
      });
    return found;
  }
  const path = fallback ?? process.env['OVSEAL_PKCS11_MODULE'];
  if (!path) {
    throw new Pkcs11Error('ERR_PKCS11_MODULE', 'no PKCS#11 module given', {
      hint: "add module-path=/usr/lib/softhsm/libsofthsm2.so (or your HSM vendor's module) to the URI, or set OVSEAL_PKCS11_MODULE",
    });
  }
  return path;
}

function loadBinding(): typeof import('pkcs11js') {
  try {
    return createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js');
  } catch (cause) {
    throw new Pkcs11Error('ERR_PKCS11_MODULE', `the pkcs11js native binding cannot be loaded: ${(cause as Error).message}`, {
      cause,
      hint: 'reinstall with build scripts allowed for pkcs11js (it compiles with node-gyp: needs g++, make and python3)',
    });
  }
}

/** Loads and initialises a module, or takes another reference to the one already loaded. */
export function acquireModule(path: string): LoadedModule {
  const existing = modules.get(path);
  if (existing) {
    existing.refs += 1;
    return existing;
  }
  if (!isAbsolute(path) || !existsSync(path)) {
    throw new Pkcs11Error('ERR_PKCS11_MODULE', `PKCS#11 module ${path} not found (an absolute path is needed)`, {
      hint: 'e.g. module-path=/usr/lib/softhsm/libsofthsm2.so',
    });
  }
  const binding = loadBinding();
  const api = new binding.PKCS11();
  try {
    api.load(path);
  } catch (cause) {
    throw new Pkcs11Error('ERR_PKCS11_MODULE', `cannot load PKCS#11 module ${path}: ${(cause as Error).message}`, { cause });
  }
  let ownsInitialization = true;
  try {
    // The async calls run on libuv's thread pool: the module must lock for itself.
    api.C_Initialize({ flags: CKF_OS_LOCKING_OK });
  } catch (error) {
    if (ckrOf(error) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      api.close();
      throw toPkcs11Error(error, 'C_Initialize', path);
    }
    ownsInitialization = false;
  }
  const entry: Entry = { path, api, refs: 1, ownsInitialization };
  modules.set(path, entry);
  return entry;
}

/** Drops a reference; the last one finalizes the module (if we initialised it) and unloads it. */
export function releaseModule(module: LoadedModule): void {
  const entry = modules.get(module.path);
  if (!entry || entry.api !== module.api) return;
  entry.refs -= 1;
  if (entry.refs > 0) return;
  modules.delete(entry.path);
  try {
    if (entry.ownsInitialization) entry.api.C_Finalize();
  } finally {
    entry.api.close();
  }
}
