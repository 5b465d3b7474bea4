import { execFile } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OpenVinoUnavailableError } from './errors.js';

/** Where to look for `libopenvino_c`. */
export interface FindOpenVinoLibraryOptions {
  /** The library file, or the folder that holds it. When set, nothing else is tried. */
  readonly libraryPath?: string | undefined;
  /** Environment to read `OVSEAL_OPENVINO_LIB` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /**
   * The Python interpreter whose `openvino` package (the PyPI wheel) is looked for, or `false` to
   * skip that step (default `python3`).
   */
  readonly python?: string | false | undefined;
  /** Folders tried last (default: the usual install prefixes of this platform). */
  readonly systemFolders?: readonly string[] | undefined;
}

/** A found library and which step found it. */
export interface OpenVinoLibraryLocation {
  /** Path of the `libopenvino_c` shared library. */
  readonly path: string;
  /** `option`, `env` (`OVSEAL_OPENVINO_LIB`), `python` (the pip wheel's `libs` folder) or `system`. */
  readonly source: 'option' | 'env' | 'python' | 'system';
}

/**
 * Finds the OpenVINO C library, in this order: `options.libraryPath`, the `OVSEAL_OPENVINO_LIB`
 * environment variable, the `libs` folder of the `openvino` package of `python3` (what
 * `pip install openvino` installs), then the usual install prefixes (`/usr/lib/x86_64-linux-gnu`,
 * `/opt/intel/openvino_<version>/runtime/lib/intel64`, …). A path given explicitly that holds no library is an
 * error, not a reason to look elsewhere. Library names may carry a version suffix
 * (`libopenvino_c.so.2641`); the highest one in a folder is taken.
 *
 * Throws `OpenVinoUnavailableError` (`ERR_OPENVINO_UNAVAILABLE`) with what was tried and a hint.
 *
 * @example
 * ```ts
 * import { findOpenVinoLibrary } from '@ovseal/openvino-c';
 *
 * const { path, source } = await findOpenVinoLibrary();
 * console.log(`OpenVINO C API at ${path} (found by ${source})`);
 * ```
 */
export async function findOpenVinoLibrary(options: FindOpenVinoLibraryOptions = {}): Promise<OpenVinoLibraryLocation> {
  const tried: string[] = [];
  if (options.libraryPath !== undefined) return { path: await explicitLibrary(options.libraryPath, 'option', tried), source: 'option' };
  const fromEnv = (options.env ?? process.env).OVSEAL_OPENVINO_LIB;
  if (fromEnv) return { path: await explicitLibrary(fromEnv, 'OVSEAL_OPENVINO_LIB', tried), source: 'env' };

  if (options.python !== false) {
    const python = options.python ?? 'python3';
    const folder = await pythonOpenVinoLibs(python);
    if (folder === undefined) {
      tried.push(`${python}: no openvino package`);
    } else {
      const found = await libraryIn(folder);
      if (found) return { path: found, source: 'python' };
      tried.push(`${folder}: no ${LIBRARY_STEM} library`);
    }
  }
  for (const folder of options.systemFolders ?? (await systemFolders())) {
    const found = await libraryIn(folder);
    if (found) return { path: found, source: 'system' };
    tried.push(`${folder}: not found`);
  }
  throw new OpenVinoUnavailableError(`${LIBRARY_STEM} was not found`, { tried });
}

const LIBRARY_STEM = 'libopenvino_c';

/** File names of the C library on this platform: `libopenvino_c.so[.N…]`, `.dylib`, `openvino_c.dll`. */
function isLibraryName(name: string): boolean {
  if (process.platform === 'win32') return name.toLowerCase() === 'openvino_c.dll';
  if (process.platform === 'darwin') return /^libopenvino_c(\.[\d.]+)?\.dylib$/.test(name);
  return /^libopenvino_c\.so(\.\d+)*$/.test(name);
}

async function explicitLibrary(path: string, origin: string, tried: string[]): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  const found = info?.isDirectory() ? await libraryIn(path) : info?.isFile() ? path : undefined;
  if (found) return found;
  tried.push(`${origin}=${path}: ${info ? `no ${LIBRARY_STEM} library in it` : 'does not exist'}`);
  throw new OpenVinoUnavailableError(`${origin} points at ${path}, which ${info ? `holds no ${LIBRARY_STEM}` : 'does not exist'}`, {
    tried,
  });
}

/** The library in a folder: the unversioned name if present, else the highest version suffix. */
async function libraryIn(folder: string): Promise<string | undefined> {
  const names = (await readdir(folder).catch(() => [] as string[])).filter(isLibraryName);
  if (names.length === 0) return undefined;
  names.sort((a, b) => compareVersionSuffix(b, a));
  return join(folder, names[0]!);
}

function compareVersionSuffix(a: string, b: string): number {
  const parts = (name: string) => (name.match(/\d+/g) ?? []).map(Number);
  const [pa, pb] = [parts(a), parts(b)];
  // The bare name (a symlink to the current version) sorts first.
  if (pa.length === 0 || pb.length === 0) return pb.length - pa.length;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The wheel's `openvino/libs` folder, found without importing the package (no numpy needed). */
function pythonOpenVinoLibs(python: string): Promise<string | undefined> {
  const script =
    'import importlib.util, os\n' +
    "spec = importlib.util.find_spec('openvino')\n" +
    "print(os.path.join(list(spec.submodule_search_locations)[0], 'libs') if spec and spec.submodule_search_locations else '')";
  return new Promise((resolve) => {
    execFile(python, ['-c', script], { timeout: 15_000, windowsHide: true }, (error, stdout) => {
      const folder = String(stdout).trim();
      resolve(error || folder === '' ? undefined : folder);
    });
  });
}

async function systemFolders(): Promise<string[]> {
  if (process.platform === 'win32') return [];
  const intel = await readdir('/opt/intel').catch(() => [] as string[]);
  const archives = intel
    .filter((name) => name.startsWith('openvino'))
    .sort()
    .reverse()
    .map((name) => join('/opt/intel', name, 'runtime/lib', process.arch === 'arm64' ? 'aarch64' : 'intel64'));
  const multiarch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  return [`/usr/lib/${multiarch}`, '/usr/lib64', '/usr/lib', '/usr/local/lib', ...archives];
}
