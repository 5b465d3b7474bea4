import { InvalidArgumentError, TruncatedError } from './errors.js';
import { writeAtomically } from './lib/io/atomic-file.js';
import { fileSink } from './lib/io/file-sink.js';
import type { ParsedHeader } from './lib/format/header-codec.js';
import { wipe } from './lib/crypto/derived-keys.js';
import { prepareOpen } from './lib/open/prepare-open.js';
import { plaintextSegments } from './lib/open/plaintext-segments.js';
import type { TrustPolicy } from './lib/open/policy-checks.js';
import { refuseIfInterrupted } from './lib/io/rewrap-journal.js';
import { sealInto, type SealCommonOptions, type SealEntryInput } from './lib/seal/seal-into.js';
import { openReader, type RandomReader } from './lib/io/container-reader.js';
import type { PlaintextChunk } from './open-stream.js';
import type { ContainerInfo, Identity, Recipient } from './types.js';

/** Options of {@link rekey}: signing, segments and progress are what `seal` takes. */
export interface RekeyOptions extends Pick<SealCommonOptions, 'signer' | 'segmentSize' | 'headerReserve' | 'onProgress'> {
  /** A key that opens the container now. */
  readonly identities: readonly Identity[];
  /**
   * Every recipient of the rekeyed container. The old stanzas wrap the old data key and are all
   * dropped: name each recipient to keep.
   */
  readonly recipients: readonly Recipient[];
  /** Require the container's signature by one of these keys before rekeying it. */
  readonly trust?: TrustPolicy | undefined;
  /** Write a new file instead of replacing the container (atomically, either way). */
  readonly output?: string | undefined;
  readonly now?: Date | undefined;
}

export interface RekeyResult {
  readonly info: ContainerInfo;
}

/**
 * Feeds one stream of segments, in order, to the sealer's per-entry streams (it reads entry after
 * entry, each to its end). Each chunk is wiped once the sealer has taken it.
 */
function entriesFrom(header: ParsedHeader, segments: AsyncGenerator<PlaintextChunk>): SealEntryInput[] {
  return header.entries.map((entry, index) => ({
    name: entry.name,
    role: entry.role,
    size: entry.size,
    stream: (async function* () {
      for (;;) {
        const next = await segments.next();
        if (next.done) throw new TruncatedError(`entry ${index} ended early`);
        try {
          yield next.value.data;
        } finally {
          next.value.data.fill(0);
        }
        if (next.value.last) return;
      }
    })(),
  }));
}

/**
 * Seals a container's payload again under a fresh data key, container id and salt, for new
 * recipients, in one streaming pass (the plaintext is never held whole, and never written). Unlike
 * `rewrap --remove`, which keeps the data key, a removed recipient then opens nothing of the
 * result — neither with a key it unwrapped before, nor with an old header spliced back on.
 *
 * Metadata and entries are kept. The old signature cannot be (it covers the old payload digest):
 * pass `signer` to sign again, else the result is unsigned. The result replaces `path` (or goes to
 * `output`) only once everything was read and authenticated — digest included for a signed
 * container — and written.
 *
 * @example
 * ```ts
 * await rekey('model.ovseal', { identities: [oldKey], recipients: [stillAllowed], signer: publisherPem });
 * ```
 */
export async function rekey(path: string, options: RekeyOptions): Promise<RekeyResult> {
  if (!options.recipients || options.recipients.length === 0) {
    throw new InvalidArgumentError('rekeying needs the recipients of the new container', {
      hint: 'the old stanzas wrap the old key: name every recipient to keep',
    });
  }
  await refuseIfInterrupted(path);
  const reader = openReader(path) as RandomReader;
  let payloadKey: Buffer | undefined;
  try {
    const prepared = await prepareOpen(reader, options);
    payloadKey = prepared.payloadKey;
    const { header } = prepared;
    const segments = plaintextSegments(reader, header, payloadKey, { trust: options.trust });
    const info = await writeAtomically(options.output ?? path, async (file) => {
      const sealed = await sealInto(fileSink(file), {
        entries: entriesFrom(header, segments),
        metadata: {
          name: header.modelName,
          version: header.modelVersion,
          format: header.format,
          createdAt: new Date(header.createdAt * 1000),
          ...(header.notAfter !== 0 ? { notAfter: new Date(header.notAfter * 1000) } : {}),
        },
        recipients: options.recipients,
        segmentSize: options.segmentSize ?? header.segmentSize,
        ...(options.signer !== undefined ? { signer: options.signer } : {}),
        ...(options.headerReserve !== undefined ? { headerReserve: options.headerReserve } : {}),
        ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      });
      // The source's own end: no trailing bytes, and the digest its signature covers.
      if (!(await segments.next()).done) throw new TruncatedError('more segments than the header describes');
      return sealed;
    });
    return { info };
  } finally {
    wipe(payloadKey);
    reader.close();
  }
}
