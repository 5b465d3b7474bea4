import { DisposedError, EntryNotFoundError } from './errors.js';
import { decryptPayload } from './lib/open/decrypt-payload.js';
import { headerInfo } from './lib/format/header-info.js';
import { wipe } from './lib/crypto/derived-keys.js';
import { prepareOpen, type OpenCommonOptions } from './lib/open/prepare-open.js';
import { checkPayloadDigest, wholePayloadDigest } from './lib/open/policy-checks.js';
import { openReader, type ContainerSource } from './lib/io/container-reader.js';
import type { ContainerInfo, EntryRole } from './types.js';

/** Options of {@link open}. */
export interface OpenOptions extends OpenCommonOptions {
  /**
   * Decrypt into `SharedArrayBuffer` memory, which the workers write directly: the fastest parallel
   * open, but native addons (ONNX Runtime, openvino-node) and `new Response(view)` refuse shared
   * memory. Default false: every entry is a plain `Uint8Array` over its own `ArrayBuffer`.
   */
  readonly sharedMemory?: boolean | undefined;
}

/** One decrypted entry. `data` is owned by the {@link OpenedContainer} and zeroed by `dispose()`. */
export interface OpenedEntry {
  readonly name: string;
  readonly role: EntryRole;
  readonly data: Uint8Array;
}

/** A container decrypted into memory. */
export interface OpenedContainer extends Disposable {
  readonly info: ContainerInfo;
  /** The decrypted entries. Throws `DisposedError` once disposed. */
  readonly entries: readonly OpenedEntry[];
  /** The plaintext of one entry; throws `EntryNotFoundError`, or `DisposedError` once disposed. */
  get(name: string): Uint8Array;
  /** Zeroes every plaintext buffer. Call it once the runtime holds its own copy. Idempotent. */
  dispose(): void;
  /** The same as `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void;
}

/**
 * Opens a container into memory: every entry is decrypted and authenticated before any plaintext
 * is returned. Each entry is a plain `Uint8Array` over its own `ArrayBuffer`, which native addons
 * can wrap. The ciphertext is streamed, never held whole; the calling thread's event loop keeps
 * turning while a large payload is decrypted.
 *
 * @example
 * ```ts
 * import { open } from '@ovseal/container';
 * using model = await open('model.ovseal', { identities: [await FileIdentity.fromFile('model.key')] });
 * const xml = model.get('model.xml');
 * // model.dispose() runs at the end of the block
 * ```
 */
export async function open(source: ContainerSource, options: OpenOptions): Promise<OpenedContainer> {
  const reader = openReader(source, options.signal);
  try {
    const { header, payloadKey } = await prepareOpen(reader, options);
    const all = new Set(header.entries.map((_, index) => index));
    let result;
    try {
      result = await decryptPayload(reader, header, payloadKey, {
        entries: all,
        digest: wholePayloadDigest(header, options.trust),
        workers: options.workers,
        sharedMemory: options.sharedMemory,
        signal: options.signal,
        onProgress: options.onProgress,
      });
    } finally {
      wipe(payloadKey);
    }
    const outputs = result.outputs as Uint8Array[];
    if (result.digest) {
      try {
        checkPayloadDigest(header, result.digest);
      } catch (error) {
        wipe(...outputs);
        throw error;
      }
    }
    const entries = header.entries.map((entry, index) => ({ name: entry.name, role: entry.role, data: outputs[index]! }));
    return openedContainer(headerInfo(header, header.payloadOffset), entries);
  } finally {
    reader.close();
  }
}

function openedContainer(info: ContainerInfo, entries: readonly OpenedEntry[]): OpenedContainer {
  let disposed = false;
  const live = () => {
    if (disposed) throw new DisposedError('the opened container');
    return entries;
  };
  const dispose = () => {
    disposed = true;
    wipe(...entries.map((entry) => entry.data));
  };
  return {
    info,
    get entries() {
      return live();
    },
    get(name) {
      const entry = live().find((candidate) => candidate.name === name);
      if (!entry) throw new EntryNotFoundError(name);
      return entry.data;
    },
    dispose,
    [Symbol.dispose]: dispose,
  };
}
