import { createHash } from 'node:crypto';
import { access, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { open, seal } from '@ovseal/container';
import type { Identity, Recipient } from '@ovseal/container';
import { importCompiledBlob } from './lib/import-blob.js';
import type { OpenVinoCompiledModel, OpenVinoCore } from './lib/openvino.js';

/** What a compiled model depends on: the same model compiled elsewhere is a different entry. */
export interface CompiledModelCacheKey {
  /** The sealed model's payload digest (hex), from its authenticated header. */
  readonly modelDigest: string;
  /** The OpenVINO device the model was compiled for (`CPU`, `GPU.0`, …). */
  readonly device: string;
  /** The device plugin's build number(s) as `core.getVersions(device)` reports them. */
  readonly runtimeVersion: string;
  /** The compile config (it changes the compiled model: precision hints, streams, …). */
  readonly config: Readonly<Record<string, string>>;
}

/** A compiled model imported from the cache, and the release of the decrypted blob it reads. */
export interface CachedCompiledModel {
  readonly compiledModel: OpenVinoCompiledModel;
  /** Zeroes the decrypted blob: call it after the compiled model is released. Idempotent. */
  readonly release: () => void;
}

/** What happened to a cache entry; for logs and tests. */
export type CompiledModelCacheEvent =
  | { readonly type: 'hit'; readonly file: string }
  | { readonly type: 'miss'; readonly file: string }
  | { readonly type: 'stored'; readonly file: string }
  | {
      readonly type: 'discarded';
      readonly file: string;
      /** `unreadable`: the container does not open; `mismatch`: it was written for another key; `import-failed`: the runtime refused the blob. */
      readonly reason: 'unreadable' | 'mismatch' | 'import-failed';
      readonly error?: unknown;
    }
  | { readonly type: 'store-failed'; readonly file: string; readonly error: unknown };

/** Options of {@link CompiledModelCache}. */
export interface CompiledModelCacheOptions {
  /** Directory of the cache files (created with mode 0700). It holds only sealed containers. */
  readonly dir: string;
  /** Who can open cache entries: normally the device's own key (a TPM or file key). */
  readonly recipients: readonly Recipient[];
  /** The matching identities, to open them. */
  readonly identities: readonly Identity[];
  /** Told about hits, misses, stores and discarded entries. */
  readonly onEvent?: ((event: CompiledModelCacheEvent) => void) | undefined;
}

const KEY_ENTRY = 'cache-key.json';
const BLOB_ENTRY = 'compiled.blob';
const CACHE_MODEL_NAME = 'ovseal-compiled-model-cache';
const KEY_FORMAT = 'ovseal-compiled-model-cache/1';

/**
 * An encrypted compiled-model cache for OpenVINO, in place of `CACHE_DIR` (which writes compiled
 * models in clear): after a compile, `exportModelSync()` is sealed to the device key; on the next
 * start the entry is opened in memory and handed to `core.importModel`, skipping the compile.
 *
 * Entries are keyed by the model digest, the device and the runtime version (and the compile
 * config). An entry that does not open, was written for another key, or that the runtime refuses
 * is deleted and the model is compiled again: the cache can make a load faster, never fail it.
 *
 * @example
 * ```ts
 * import { CompiledModelCache, loadOpenVino } from '@ovseal/loader';
 * import { FileIdentity, FileRecipient, readKeyFile } from '@ovseal/key-file';
 *
 * const cacheKey = await readKeyFile('/etc/ovseal/cache.key'); // the device's own key
 * const cache = new CompiledModelCache({
 *   dir: '/var/cache/ovseal',
 *   recipients: [new FileRecipient(cacheKey)],
 *   identities: [new FileIdentity(cacheKey)],
 * });
 * const { compiledModel } = await loadOpenVino('detector.ovseal', { identities, device: 'CPU', cache });
 * ```
 */
export class CompiledModelCache {
  readonly dir: string;
  readonly #recipients: readonly Recipient[];
  readonly #identities: readonly Identity[];
  readonly #onEvent: ((event: CompiledModelCacheEvent) => void) | undefined;

  constructor(options: CompiledModelCacheOptions) {
    this.dir = options.dir;
    this.#recipients = options.recipients;
    this.#identities = options.identities;
    this.#onEvent = options.onEvent;
  }

  /** The cache file of a key (it may not exist). */
  fileFor(key: CompiledModelCacheKey): string {
    return join(this.dir, `${createHash('sha256').update(canonicalKey(key)).digest('hex')}.ovseal`);
  }

  /**
   * Imports the cached compiled model for `key`, or returns `undefined` (a miss, or an entry that
   * had to be discarded). Never throws for a bad entry.
   *
   * OpenVINO reads an imported blob in place, so the decrypted blob stays in memory with the
   * compiled model: call `release()` once the compiled model is released, to zero it.
   */
  async load(core: OpenVinoCore, key: CompiledModelCacheKey): Promise<CachedCompiledModel | undefined> {
    const file = this.fileFor(key);
    if (!(await exists(file))) {
      this.#emit({ type: 'miss', file });
      return undefined;
    }
    let opened;
    try {
      opened = await open(file, { identities: this.#identities });
    } catch (error) {
      return this.#discard(file, 'unreadable', error);
    }
    let matches: boolean;
    try {
      matches = new TextDecoder().decode(opened.get(KEY_ENTRY)) === canonicalKey(key);
    } catch (error) {
      opened.dispose();
      return this.#discard(file, 'unreadable', error);
    }
    if (!matches) {
      opened.dispose();
      return this.#discard(file, 'mismatch');
    }
    let compiledModel: OpenVinoCompiledModel;
    try {
      compiledModel = await importCompiledBlob(core, opened.get(BLOB_ENTRY), key.device, key.config);
    } catch (error) {
      opened.dispose();
      return this.#discard(file, 'import-failed', error);
    }
    this.#emit({ type: 'hit', file });
    const entry = opened;
    return { compiledModel, release: () => entry.dispose() };
  }

  /**
   * Exports `compiled` and seals it under the cache recipients. A failure (a device that cannot
   * export, a full disk) is reported as a `store-failed` event, never thrown: the model is loaded.
   * The exported plaintext is zeroed once sealed.
   */
  async store(compiled: OpenVinoCompiledModel, key: CompiledModelCacheKey): Promise<void> {
    const file = this.fileFor(key);
    let blob: Uint8Array | undefined;
    try {
      blob = compiled.exportModelSync();
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await seal({
        output: file,
        entries: [
          { name: KEY_ENTRY, role: 'aux', data: new TextEncoder().encode(canonicalKey(key)) },
          { name: BLOB_ENTRY, role: 'blob', data: blob },
        ],
        metadata: { name: CACHE_MODEL_NAME, version: '1', format: 'openvino-blob' },
        recipients: [...this.#recipients],
      });
      this.#emit({ type: 'stored', file });
    } catch (error) {
      this.#emit({ type: 'store-failed', file, error });
    } finally {
      blob?.fill(0);
    }
  }

  async #discard(file: string, reason: 'unreadable' | 'mismatch' | 'import-failed', error?: unknown): Promise<undefined> {
    await rm(file, { force: true }).catch(() => undefined);
    this.#emit(error === undefined ? { type: 'discarded', file, reason } : { type: 'discarded', file, reason, error });
    return undefined;
  }

  #emit(event: CompiledModelCacheEvent): void {
    try {
      this.#onEvent?.(event);
    } catch {
      // A logging callback must not break a load.
    }
  }
}

/** Stable text of a key: sorted config, fixed field order. It is also stored in the entry and compared. */
function canonicalKey(key: CompiledModelCacheKey): string {
  const config = Object.fromEntries(Object.entries(key.config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({
    format: KEY_FORMAT,
    modelDigest: key.modelDigest,
    device: key.device,
    runtimeVersion: key.runtimeVersion,
    config,
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
