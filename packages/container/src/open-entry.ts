import { EntryNotFoundError, InvalidArgumentError } from './errors.js';
import { decryptPayload } from './lib/open/decrypt-payload.js';
import { wipe } from './lib/crypto/derived-keys.js';
import { prepareOpen, type OpenCommonOptions } from './lib/open/prepare-open.js';
import { checkPayloadDigest } from './lib/open/policy-checks.js';
import { openReader } from './lib/io/container-reader.js';

/**
 * Decrypts one entry alone (random access): only that entry's segments are read, unless a trust
 * policy asks for the payload digest, which covers every segment.
 *
 * @example
 * ```ts
 * const labels = await openEntry('model.ovseal', 'labels.txt', { identities });
 * ```
 */
export async function openEntry(source: string | Uint8Array, name: string, options: OpenCommonOptions): Promise<Uint8Array> {
  if (typeof source !== 'string' && !(source instanceof Uint8Array)) {
    throw new InvalidArgumentError('openEntry needs random access: pass a file path or a Uint8Array');
  }
  const reader = openReader(source, options.signal);
  try {
    const { header, payloadKey } = await prepareOpen(reader, options);
    const index = header.entries.findIndex((entry) => entry.name === name);
    if (index < 0) {
      wipe(payloadKey);
      throw new EntryNotFoundError(name);
    }
    let result;
    try {
      result = await decryptPayload(reader, header, payloadKey, {
        entries: new Set([index]),
        digest: !!options.trust,
        workers: options.workers,
        signal: options.signal,
        onProgress: options.onProgress,
      });
    } finally {
      wipe(payloadKey);
    }
    const data = result.outputs[index]!;
    if (result.digest) {
      try {
        checkPayloadDigest(header, result.digest);
      } catch (error) {
        wipe(data);
        throw error;
      }
    }
    return data;
  } finally {
    reader.close();
  }
}
