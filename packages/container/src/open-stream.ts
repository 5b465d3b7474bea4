import { AuthenticationFailedError, TruncatedError } from './errors.js';
import { layoutEntries, payloadDigest, payloadLength, segmentHash, segmentNonce, segmentPlainLength } from './lib/layout.js';
import { wipe } from './lib/keys.js';
import { TAG_LENGTH } from './lib/limits.js';
import { prepareOpen, type OpenCommonOptions } from './lib/open-core.js';
import { checkPayloadDigest, wholePayloadDigest } from './lib/policy.js';
import { decryptSegmentInto } from './lib/segment-cipher.js';
import { openReader, type ContainerSource } from './lib/source.js';
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
  const reader = openReader(source);
  let payloadKey: Buffer | undefined;
  try {
    const prepared = await prepareOpen(reader, options);
    payloadKey = prepared.payloadKey;
    const { header } = prepared;
    const layouts = layoutEntries(header.entries.map((entry) => entry.size), header.segmentSize);
    const expected = header.payloadOffset + payloadLength(layouts);
    if (reader.kind === 'random' && reader.size !== expected) throw new TruncatedError(`the header describes ${expected} bytes, the container has ${reader.size}`);
    const digest = wholePayloadDigest(header, options.trust);
    const hashes: Uint8Array[] = [];
    let done = 0;
    for (const layout of layouts) {
      const entry = header.entries[layout.index]!;
      for (let s = 0; s < layout.segmentCount; s++) {
        const plainLength = segmentPlainLength(layout.size, header.segmentSize, s);
        const position = header.payloadOffset + layout.payloadOffset + s * (header.segmentSize + TAG_LENGTH);
        const sealed = reader.kind === 'random' ? reader.read(position, plainLength + TAG_LENGTH) : await reader.read(plainLength + TAG_LENGTH);
        if (digest) hashes.push(segmentHash(sealed));
        const plain = Buffer.alloc(plainLength);
        const last = s === layout.segmentCount - 1;
        if (!decryptSegmentInto(payloadKey, segmentNonce(layout.index, s, last), sealed, plain, 0)) throw new AuthenticationFailedError();
        done += sealed.length;
        options.onProgress?.(done, expected - header.payloadOffset);
        yield { entry: { name: entry.name, role: entry.role, size: entry.size }, offset: s * header.segmentSize, data: plain, last };
      }
    }
    if (reader.kind === 'sequential') await reader.expectEnd();
    if (digest) checkPayloadDigest(header, payloadDigest(hashes));
  } finally {
    wipe(payloadKey);
    reader.close();
  }
}
