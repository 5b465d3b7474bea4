import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import { invalidCiphertext, validation } from './kms-fault.js';

/*
 * kms-local's ciphertext blob (its own format; real KMS blobs are opaque too):
 *
 *   "KLC1" ‖ u8 arnLength ‖ keyArn ‖ u32 materialVersion ‖ iv (12) ‖ AES-256-GCM ciphertext ‖ tag (16)
 *
 * The additional data is everything before the iv followed by the canonical encryption context, so
 * the key id, the material version and the context are all authenticated.
 */
const MAGIC = Buffer.from('KLC1', 'ascii');
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const MAX_CONTEXT_FIELD = 0xffff;

/** What the clear header of a blob says: which key and which version of its material. */
export interface BlobHeader {
  readonly keyArn: string;
  readonly materialVersion: number;
}

export function sealBlob(header: BlobHeader, material: Buffer, plaintext: Uint8Array, context: Readonly<Record<string, string>>): Buffer {
  const headerBytes = encodeHeader(header);
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([headerBytes, canonicalContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([headerBytes, iv, body, cipher.getAuthTag()]);
}

/** Reads the clear header; any malformed blob is an `InvalidCiphertextException`. */
export function readBlobHeader(blob: Buffer): BlobHeader {
  return parseBlob(blob).header;
}

export function openBlob(blob: Buffer, material: Buffer, context: Readonly<Record<string, string>>): Buffer {
  const { headerBytes, iv, body, tag } = parseBlob(blob);
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, iv);
    decipher.setAAD(Buffer.concat([headerBytes, canonicalContext(context)]));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw invalidCiphertext();
  }
}

function encodeHeader({ keyArn, materialVersion }: BlobHeader): Buffer {
  const arn = Buffer.from(keyArn, 'utf8');
  if (arn.length > 0xff) throw new Error('key ARN too long for a ciphertext blob');
  const version = Buffer.alloc(4);
  version.writeUInt32BE(materialVersion);
  return Buffer.concat([MAGIC, Buffer.from([arn.length]), arn, version]);
}

function parseBlob(blob: Buffer): { header: BlobHeader; headerBytes: Buffer; iv: Buffer; body: Buffer; tag: Buffer } {
  if (blob.length < MAGIC.length + 1 || !blob.subarray(0, MAGIC.length).equals(MAGIC)) throw invalidCiphertext();
  const arnLength = blob[MAGIC.length] ?? 0;
  const headerLength = MAGIC.length + 1 + arnLength + 4;
  if (blob.length < headerLength + IV_LENGTH + TAG_LENGTH) throw invalidCiphertext();
  const keyArn = blob.subarray(MAGIC.length + 1, MAGIC.length + 1 + arnLength).toString('utf8');
  const materialVersion = blob.readUInt32BE(headerLength - 4);
  return {
    header: { keyArn, materialVersion },
    headerBytes: blob.subarray(0, headerLength),
    iv: blob.subarray(headerLength, headerLength + IV_LENGTH),
    body: blob.subarray(headerLength + IV_LENGTH, blob.length - TAG_LENGTH),
    tag: blob.subarray(blob.length - TAG_LENGTH),
  };
}

/**
 * Order-independent bytes of an encryption context: u16 count, then each pair sorted by key bytes,
 * every field length-prefixed, so `{a: "bc"}` and `{ab: "c"}` never collide.
 */
export function canonicalContext(context: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(context)
    .map(([key, value]) => [Buffer.from(key, 'utf8'), Buffer.from(value, 'utf8')] as const)
    .sort(([a], [b]) => Buffer.compare(a, b));
  if (pairs.length > MAX_CONTEXT_FIELD) throw validation('The encryption context has too many pairs.');
  const parts: Buffer[] = [u16(pairs.length)];
  for (const [key, value] of pairs) {
    if (key.length > MAX_CONTEXT_FIELD || value.length > MAX_CONTEXT_FIELD) {
      throw validation('An encryption context key or value is too long.');
    }
    parts.push(u16(key.length), key, u16(value.length), value);
  }
  return Buffer.concat(parts);
}

function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}
