import { readFile } from 'node:fs/promises';
import { IoError } from '@ovseal/container';
import { writeFileAtomic } from '@ovseal/atomic-file';
import { compareVersions } from './compare-versions.js';
import type { RollbackStore } from './types.js';

const FORMAT = 'ovseal-rollback-store/1';

interface StoreFile {
  format: typeof FORMAT;
  models: Record<string, string>;
}

/**
 * A {@link RollbackStore} in a small JSON file on the device, rewritten atomically (temporary file,
 * fsync, rename), so a power cut leaves either the old or the new state, never a torn file.
 *
 * A missing file is an empty store; an unreadable or malformed one is an error (the loader fails
 * closed rather than forget what it saw). Writes from one process are serialised; several
 * processes sharing one file should share one loader or use their own store.
 *
 * @example
 * ```ts
 * import { JsonFileRollbackStore } from '@ovseal/loader';
 * import { loadOnnxRuntime } from '@ovseal/loader/onnxruntime';
 *
 * const rollback = new JsonFileRollbackStore('/var/lib/ovseal/versions.json');
 * const { session } = await loadOnnxRuntime('detector.ovseal', { identities, rollback });
 * // Loading an older detector.ovseal later throws RollbackError (code ERR_ROLLBACK).
 * ```
 */
export class JsonFileRollbackStore implements RollbackStore {
  readonly path: string;
  readonly #compare: (a: string, b: string) => number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: { compareVersions?: (a: string, b: string) => number } = {}) {
    this.path = path;
    this.#compare = options.compareVersions ?? compareVersions;
  }

  async highestVersion(model: string): Promise<string | undefined> {
    const state = await this.#read();
    return Object.hasOwn(state.models, model) ? state.models[model] : undefined;
  }

  recordVersion(model: string, version: string): Promise<void> {
    const write = this.#queue.then(async () => {
      const state = await this.#read();
      const current = Object.hasOwn(state.models, model) ? state.models[model] : undefined;
      if (current !== undefined && this.#compare(version, current) <= 0) return;
      state.models[model] = version;
      await writeFileAtomic(this.path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    });
    this.#queue = write.catch(() => undefined);
    return write;
  }

  async #read(): Promise<StoreFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { format: FORMAT, models: emptyModels() };
      throw new IoError(`cannot read the rollback store ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    return parseStore(text, this.path);
  }
}

function parseStore(text: string, path: string): StoreFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new IoError(`the rollback store ${path} is not valid JSON`, { cause: error });
  }
  const { format, models } = (parsed ?? {}) as Partial<StoreFile>;
  const valid =
    format === FORMAT &&
    typeof models === 'object' &&
    models !== null &&
    !Array.isArray(models) &&
    Object.values(models).every((version) => typeof version === 'string');
  if (!valid) throw new IoError(`the rollback store ${path} is not an ${FORMAT} file`);
  return { format, models: Object.assign(emptyModels(), models) };
}

/** Model names are keys: no prototype, so `__proto__` is just a name. */
function emptyModels(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}
