import { InvalidArgumentError } from './errors.js';
import { writeAtomically, writeFully } from './lib/io/atomic-file.js';
import { refuseDuplicateKeys } from './lib/crypto/duplicate-keys.js';
import { encodeHeaderWithoutMac, headerLengthOf, type HeaderFields, type ParsedHeader } from './lib/format/header-codec.js';
import { headerInfo } from './lib/format/header-info.js';
import { headerMac, wipe } from './lib/crypto/derived-keys.js';
import { HEADER_ALIGN, HEADER_RESERVE } from './lib/format/limits.js';
import { refuseIfInterrupted, rewriteHeaderArea } from './lib/io/rewrap-journal.js';
import { openReader, readHeader, type RandomReader } from './lib/io/container-reader.js';
import { unlock, wrapContextOf } from './lib/crypto/unlock.js';
import type { ContainerInfo, Identity, Recipient, Stanza } from './types.js';

/** Options of {@link rewrap}. */
export interface RewrapOptions {
  /** A key that opens the container now (the data key is needed to wrap it again and to MAC the header). */
  readonly identities: readonly Identity[];
  /** Recipients to add. */
  readonly add?: readonly Recipient[];
  /** Stanzas to drop: return true for each one to remove. */
  readonly remove?: (stanza: Stanza) => boolean;
  /** Write a new file instead of rewriting the header in place. */
  readonly output?: string;
}

export interface RewrapResult {
  readonly info: ContainerInfo;
  readonly added: number;
  readonly removed: number;
  /** True when only the header area was rewritten (the payload was not touched). */
  readonly inPlace: boolean;
}

async function copyPayload(reader: RandomReader, from: number, write: (bytes: Uint8Array) => Promise<void>) {
  const chunk = 8 * 1024 * 1024;
  for (let position = from; position < reader.size; position += chunk) {
    await write(reader.read(position, Math.min(chunk, reader.size - position)));
  }
}

/**
 * Adds or removes recipients by rewriting the header only: the payload is neither decrypted nor
 * re-encrypted, and the publisher signature stays valid (it does not cover the recipients). When
 * the new header fits the header area, the file is updated in place, journaled: the old header area
 * is saved to `PATH.rewrap-journal` first, so an interrupted rewrap can be undone with
 * {@link recoverRewrap}. Otherwise, or with `output`, a new file is written atomically.
 *
 * @example
 * ```ts
 * await rewrap('model.ovseal', { identities: [oldKey], add: [deviceRecipient] });
 * ```
 */
export async function rewrap(path: string, options: RewrapOptions): Promise<RewrapResult> {
  await refuseIfInterrupted(path);
  const reader = openReader(path) as RandomReader;
  let header: ParsedHeader;
  let dataKey: Uint8Array | undefined;
  let macKey: Buffer | undefined;
  try {
    header = await readHeader(reader);
    ({
      dataKey,
      keys: { macKey },
    } = await unlock(header, options.identities));
    const kept = header.stanzas.filter((stanza) => !options.remove?.(stanza));
    const context = wrapContextOf(header);
    const additions = options.add ?? [];
    const wrapped = await Promise.all(additions.map((recipient) => recipient.wrap(dataKey!, context)));
    refuseDuplicateKeys([{ stanzas: kept }, ...wrapped.map((stanzas, i) => ({ recipient: additions[i]!, stanzas }))]);
    const added = wrapped.flat();
    const stanzas = [...kept, ...added];
    if (stanzas.length === 0) throw new InvalidArgumentError('refusing to remove every recipient: nobody could open the container');
    const fields: HeaderFields = { ...header, stanzas };
    const encode = (payloadOffset: number) => {
      const withoutMac = encodeHeaderWithoutMac(fields, payloadOffset);
      const area = new Uint8Array(payloadOffset);
      area.set(withoutMac, 0);
      area.set(headerMac(macKey!, withoutMac), withoutMac.length);
      return area;
    };
    const counts = { added: added.length, removed: header.stanzas.length - kept.length };
    const newLength = headerLengthOf(fields);

    if (!options.output && newLength <= header.payloadOffset) {
      await rewriteHeaderArea(path, reader.read(0, header.payloadOffset), encode(header.payloadOffset));
      return { info: headerInfo(fields, header.payloadOffset), ...counts, inPlace: true };
    }
    const payloadOffset = Math.ceil((newLength + HEADER_RESERVE) / HEADER_ALIGN) * HEADER_ALIGN;
    const area = encode(payloadOffset);
    await writeAtomically(options.output ?? path, async (file) => {
      await writeFully(file, area, 0);
      let position = payloadOffset;
      await copyPayload(reader, header.payloadOffset, async (bytes) => {
        await writeFully(file, bytes, position);
        position += bytes.length;
      });
    });
    return { info: headerInfo(fields, payloadOffset), ...counts, inPlace: false };
  } finally {
    wipe(dataKey, macKey);
    reader.close();
  }
}
