import { wipe } from './lib/crypto/derived-keys.js';
import { prepareOpen, type OpenCommonOptions } from './lib/open/prepare-open.js';
import { plaintextSegments } from './lib/open/plaintext-segments.js';
import { openReader, type ContainerSource } from './lib/io/container-reader.js';
import type { EntryInfo } from './types.js';

/** One authenticated piece of an entry's plaintext. */
export interface PlaintextChunk {
  readonly entry: EntryInfo;
  /** Byte offset of `data` within the entry. */
  readonly offset: number;
  readonly data: Uint8Array;
  /** True on the entry's last chunk. */
  readonly last: boolean;
}

/**
 * Decrypts a container as a stream of chunks, one segment at a time, in constant memory. Each chunk
 * is released only after its own tag verified. A truncation or a later bad segment is reported by
 * the error that ends the iteration, after earlier chunks were released: when everything must be
 * authentic before any byte is used, use {@link open}. For a signed container (or with a trust
 * policy), the payload digest is compared at the end.
 *
 * @example
 * ```ts
 * for await (const chunk of openStream(createReadStream('m.ovseal'), { identities })) {
 *   hash.update(chunk.data);
 * }
 * ```
 */
export async function* openStream(source: ContainerSource, options: OpenCommonOptions): AsyncGenerator<PlaintextChunk> {
  const reader = openReader(source, options.signal);
  let payloadKey: Buffer | undefined;
  try {
    const prepared = await prepareOpen(reader, options);
    payloadKey = prepared.payloadKey;
    yield* plaintextSegments(reader, prepared.header, payloadKey, options);
  } finally {
    wipe(payloadKey);
    reader.close();
  }
}
