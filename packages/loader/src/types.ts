import type { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import type { ContainerInfo, EntryRole, ModelFormat, OpenCommonOptions } from '@ovseal/container';

/**
 * Where a sealed model comes from:
 * - a file path (or a `file:` URL), read by the container with random access;
 * - an `http:`/`https:` URL (string or `URL`), streamed: the ciphertext is never held whole;
 * - a `Uint8Array` already in memory;
 * - a readable stream of bytes (a Node `Readable`, a web `ReadableStream`, any async iterable).
 */
export type ModelSource = string | URL | Uint8Array | Readable | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** Request settings for `http(s)` sources. */
export interface HttpOptions {
  /** Extra request headers (an `Authorization` token for a model registry, …). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the download (and so the load). */
  readonly signal?: AbortSignal;
}

/**
 * Device-side memory of the highest version seen per model name, for rollback protection.
 * {@link JsonFileRollbackStore} is the file-backed implementation; a device may inject its own
 * (a TPM NV counter, a secure element, a database row).
 */
export interface RollbackStore {
  /** The highest version recorded for `model`, or `undefined` if none was. */
  highestVersion(model: string): Promise<string | undefined>;
  /** Records that `version` of `model` was loaded. Must never lower the recorded version. */
  recordVersion(model: string, version: string): Promise<void>;
}

/**
 * Options of `openModel`, shared by the runtime loaders: the container's open options (identities,
 * trust, now, workers, signal, onProgress), plus rollback protection and HTTP settings.
 */
export interface OpenModelOptions extends OpenCommonOptions {
  /** Refuse a model older than the highest version of the same name already loaded on this device. */
  readonly rollback?: RollbackStore | undefined;
  /**
   * Version order used by `rollback` (default: SemVer when both versions are SemVer, otherwise a
   * natural order where digit runs compare as numbers).
   */
  readonly compareVersions?: ((a: string, b: string) => number) | undefined;
  /** Request settings for `http(s)` sources. */
  readonly http?: HttpOptions | undefined;
}

/** One decrypted file of the model. `data` is zeroed by `dispose()`. */
export interface ModelEntry {
  readonly name: string;
  readonly role: EntryRole;
  readonly data: Uint8Array;
}

/**
 * A sealed model decrypted into memory, for any runtime. Every entry is a plain `Uint8Array` over
 * its own `ArrayBuffer` (native addons can wrap it).
 */
export interface OpenedModel extends Disposable {
  /** Header information (metadata, entries, signature), authenticated. */
  readonly info: ContainerInfo;
  /** The model format: from the metadata, or from the entry roles when the metadata says `other`. */
  readonly format: ModelFormat;
  /** The decrypted entries; throws `DisposedError` (`ERR_DISPOSED`) once disposed. */
  readonly entries: readonly ModelEntry[];
  /** The plaintext of one entry; throws `EntryNotFoundError`, or `DisposedError` once disposed. */
  get(name: string): Uint8Array;
  /** Zeroes every plaintext buffer the loader holds. Idempotent. */
  dispose(): void;
  /** The same as `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void;
}
