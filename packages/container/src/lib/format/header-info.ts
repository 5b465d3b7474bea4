import type { ContainerInfo } from '../../types.js';
import { toHex } from '../util/bytes.js';
import { FORMAT_VERSION, type HeaderFields } from './header-codec.js';
import { layoutEntries, payloadLength } from './payload-layout.js';
import { describeSignature } from '../crypto/signature.js';

/** The key-free view of a header that `inspect` returns. */
export function headerInfo(header: HeaderFields, payloadOffset: number): ContainerInfo {
  const layouts = layoutEntries(
    header.entries.map((entry) => entry.size),
    header.segmentSize,
  );
  return {
    formatVersion: FORMAT_VERSION,
    containerId: toHex(header.containerId),
    metadata: {
      name: header.modelName,
      version: header.modelVersion,
      format: header.format,
      createdAt: new Date(header.createdAt * 1000),
      notAfter: header.notAfter === 0 ? undefined : new Date(header.notAfter * 1000),
    },
    entries: header.entries.map(({ name, role, size }) => ({ name, role, size })),
    segmentSize: header.segmentSize,
    recipients: header.stanzas.map(({ type, args }) => ({ type, args: [...args] })),
    signature: header.signature ? describeSignature(header.signature) : null,
    payloadOffset,
    totalSize: payloadOffset + payloadLength(layouts),
    payloadDigest: toHex(header.payloadDigest),
  };
}
