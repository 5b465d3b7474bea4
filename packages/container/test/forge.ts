/**
 * What a holder of a container's data key (a compromised device) can build: new ciphertext under
 * the same data key, a header MAC over any header it likes. Uses the format internals on purpose.
 */
import { createWrapContext, type Identity } from '@ovseal/container';
import {
  encodeCore,
  encodeHeaderUnchecked,
  parseHeader,
  parsePreamble,
  type HeaderFields,
  type ParsedHeader,
} from '../dist/lib/format/header-codec.js';
import { deriveKeys, headerMac } from '../dist/lib/crypto/derived-keys.js';
import { payloadDigest, segmentHash, segmentNonce } from '../dist/lib/format/payload-layout.js';
import { encryptSegment } from '../dist/lib/crypto/segment-cipher.js';
import { signCore } from '../dist/lib/crypto/signature.js';

export function headerOf(bytes: Uint8Array): ParsedHeader {
  const { headerLength } = parsePreamble(bytes.subarray(0, 16));
  return parseHeader(bytes.subarray(0, headerLength));
}

/** Unwraps the data key the way a device holding the identity would. */
export async function stealDataKey(bytes: Uint8Array, identity: Identity): Promise<Uint8Array> {
  const header = headerOf(bytes);
  const context = createWrapContext({ containerId: header.containerId, modelName: header.modelName, modelVersion: header.modelVersion });
  const dataKey = await identity.unwrap(header.stanzas, context);
  if (!dataKey) throw new Error('the identity does not open this container');
  return dataKey;
}

/** Encrypts new entry plaintexts (same count and sizes as the header says) under the container's data key. */
export function encryptPayload(
  header: ParsedHeader,
  dataKey: Uint8Array,
  plaintexts: readonly Uint8Array[],
): { payload: Buffer; digest: Buffer } {
  const { payloadKey } = deriveKeys(dataKey, header.salt);
  const sealed: Buffer[] = [];
  plaintexts.forEach((plain, entry) => {
    if (plain.length !== header.entries[entry]!.size) throw new Error('sizes must match the header');
    const count = Math.max(1, Math.ceil(plain.length / header.segmentSize));
    for (let s = 0; s < count; s++) {
      const piece = plain.subarray(s * header.segmentSize, Math.min(plain.length, (s + 1) * header.segmentSize));
      sealed.push(encryptSegment(payloadKey, segmentNonce(entry, s, s === count - 1), piece));
    }
  });
  return { payload: Buffer.concat(sealed), digest: payloadDigest(sealed.map((segment) => segmentHash(segment))) };
}

/**
 * A whole header area (header, MAC, zero padding up to payloadOffset) MACed with the data key. The
 * field rules are not applied: a data-key holder can write any header, and readers must refuse it.
 */
export function headerArea(fields: HeaderFields, dataKey: Uint8Array, payloadOffset: number): Uint8Array {
  const { macKey } = deriveKeys(dataKey, fields.salt);
  const withoutMac = encodeHeaderUnchecked(fields, payloadOffset);
  const area = new Uint8Array(payloadOffset);
  area.set(withoutMac, 0);
  area.set(headerMac(macKey, withoutMac), withoutMac.length);
  return area;
}

export function fieldsOf(header: ParsedHeader): HeaderFields {
  const {
    containerId,
    salt,
    commitment,
    segmentSize,
    payloadDigest: digest,
    createdAt,
    notAfter,
    modelName,
    modelVersion,
    format,
    entries,
    signature,
    stanzas,
  } = header;
  return {
    containerId,
    salt,
    commitment,
    segmentSize,
    payloadDigest: digest,
    createdAt,
    notAfter,
    modelName,
    modelVersion,
    format,
    entries,
    signature,
    stanzas,
  };
}

export function resign(fields: HeaderFields, privateKeyPem: string): HeaderFields {
  return { ...fields, signature: signCore(encodeCore(fields), privateKeyPem) };
}
