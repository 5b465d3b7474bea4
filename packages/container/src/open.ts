import { EntryNotFoundError } from './errors.js';
import { decryptPayload } from './lib/decrypt.js';
import { headerInfo } from './lib/info.js';
import { wipe } from './lib/keys.js';
import { prepareOpen, type OpenCommonOptions } from './lib/open-core.js';
import { checkPayloadDigest, wholePayloadDigest } from './lib/policy.js';
import { openReader, type ContainerSource } from './lib/source.js';
import type { ContainerInfo, EntryRole } from './types.js';

/** Options of {@link open}. */
export type OpenOptions = OpenCommonOptions;

/** One decrypted entry. `data` is owned by the {@link OpenedContainer} and zeroed by `dispose()`. */
export interface OpenedEntry {
  readonly name: string;
  readonly role: EntryRole;
  readonly data: Uint8Array;
}

/** A container decrypted into memory. */
export interface OpenedContainer {
  readonly info: ContainerInfo;
  readonly entries: readonly OpenedEntry[];
  /** The plaintext of one entry; throws EntryNotFoundError. */
  get(name: string): Uint8Array;
  /** Zeroes every plaintext buffer. Call it once the runtime holds its own copy. */
  dispose(): void;
}

/**
 * Opens a container into memory: every entry is decrypted and authenticated before any plaintext
 * is returned. Large payloads are decrypted by worker threads into shared memory; the ciphertext
 * is streamed, never held whole.
 *
 * @example
 * ```ts
 * import { open } from '@ovseal/container';
 * const model = await open('model.ovseal', { identities: [await FileIdentity.fromFile('model.key')] });
 * const xml = model.get('model.xml');
 * model.dispose();
 * ```
 */
export async function open(source: ContainerSource, options: OpenOptions): Promise<OpenedContainer> {
  const reader = openReader(source);
  try {
    const { header, payloadKey } = await prepareOpen(reader, options);
    const all = new Set(header.entries.map((_, index) => index));
    let result;
    try {
      result = await decryptPayload(reader, header, payloadKey, { entries: all, digest: wholePayloadDigest(header, options.trust), workers: options.workers, onProgress: options.onProgress });
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
    return {
      info: headerInfo(header, header.payloadOffset),
      entries,
      get(name) {
        const entry = entries.find((candidate) => candidate.name === name);
        if (!entry) throw new EntryNotFoundError(name);
        return entry.data;
      },
      dispose() {
        wipe(...outputs);
      },
    };
  } finally {
    reader.close();
  }
}
