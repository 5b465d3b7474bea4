import { AuthenticationFailedError, TruncatedError } from '../../errors.js';
import type { PlaintextChunk } from '../../open-stream.js';
import type { ParsedHeader } from '../format/header-codec.js';
import { layoutEntries, payloadDigest, payloadLength, segmentHash, segmentNonce, segmentPlainLength } from '../format/payload-layout.js';
import { TAG_LENGTH } from '../format/limits.js';
import type { OpenCommonOptions } from './prepare-open.js';
import { checkPayloadDigest, wholePayloadDigest } from './policy-checks.js';
import { throwIfAborted } from '../util/abort.js';
import { decryptSegmentInto, splitSealed } from '../crypto/segment-cipher.js';
import type { Reader, SequentialReader } from '../io/container-reader.js';
import { nextTurn } from '../util/event-loop-turns.js';

/** A stream's next segment, copied from its chunks into one buffer (concatenating would copy each byte again per chunk). */
async function readSegment(reader: SequentialReader, length: number): Promise<Uint8Array> {
  const sealed = new Uint8Array(length);
  await reader.readInto(sealed);
  return sealed;
}

/**
 * The payload after `prepareOpen`, one segment at a time in file order: each chunk is released only
 * after its own tag verified; the end checks the length (trailing bytes) and, for a signed
 * container or under a trust policy, the payload digest. Used by `openStream` and `rekey`.
 */
export async function* plaintextSegments(
  reader: Reader,
  header: ParsedHeader,
  payloadKey: Uint8Array,
  options: Pick<OpenCommonOptions, 'trust' | 'onProgress' | 'signal'>,
): AsyncGenerator<PlaintextChunk> {
  const layouts = layoutEntries(
    header.entries.map((entry) => entry.size),
    header.segmentSize,
  );
  const expected = header.payloadOffset + payloadLength(layouts);
  if (reader.kind === 'random' && reader.size !== expected)
    throw new TruncatedError(`the header describes ${expected} bytes, the container has ${reader.size}`);
  const digest = wholePayloadDigest(header, options.trust);
  const hashes: Uint8Array[] = [];
  let done = 0;
  for (const layout of layouts) {
    const entry = header.entries[layout.index]!;
    for (let s = 0; s < layout.segmentCount; s++) {
      throwIfAborted(options.signal);
      const plainLength = segmentPlainLength(layout.size, header.segmentSize, s);
      const position = header.payloadOffset + layout.payloadOffset + s * (header.segmentSize + TAG_LENGTH);
      const sealed =
        reader.kind === 'random' ? reader.read(position, plainLength + TAG_LENGTH) : await readSegment(reader, plainLength + TAG_LENGTH);
      if (digest) hashes.push(segmentHash(sealed));
      const plain = Buffer.alloc(plainLength);
      const last = s === layout.segmentCount - 1;
      const segment = splitSealed(sealed);
      if (!segment || !decryptSegmentInto(payloadKey, segmentNonce(layout.index, s, last), segment, plain, 0))
        throw new AuthenticationFailedError();
      done += sealed.length;
      options.onProgress?.(done, expected - header.payloadOffset);
      yield { entry: { name: entry.name, role: entry.role, size: entry.size }, offset: s * header.segmentSize, data: plain, last };
      // `for await` resumes a generator through microtasks only: let the event loop turn.
      await nextTurn();
    }
  }
  if (reader.kind === 'sequential') await reader.expectEnd();
  if (digest) checkPayloadDigest(header, payloadDigest(hashes));
}
