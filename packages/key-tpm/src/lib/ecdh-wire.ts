import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Stanza, WrapContext } from '@ovseal/container';
import { aeadOpen, aeadSeal, deriveWrapKey, TAG_LENGTH } from './aead.js';
import { ByteReader, sized16 } from './bytes.js';

/**
 * `tpm-ecdh` stanza (docs in the package README):
 *   args = [key id]
 *   body = ephemeral P-256 point, uncompressed (65) ‖ AES-256-GCM(k, nonce 0, data key, aad = ctx.aad) ‖ tag (16)
 *   k    = HKDF-SHA-256(ikm = ECDH x-coordinate, salt = ephemeral point ‖ device point, info = "ovseal/v1 tpm-ecdh")
 * Anyone can wrap with the public key; only the TPM holding the private key computes the same
 * x-coordinate (TPM2_ECDH_ZGen).
 */
export const ECDH_STANZA_TYPE = 'tpm-ecdh';
const INFO = 'ovseal/v1 tpm-ecdh';
const POINT_LENGTH = 65;
const COORDINATE_LENGTH = 32;

export function pointOf(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

export function keyOfPoint(point: Uint8Array): KeyObject {
  const x = Buffer.from(point.subarray(1, 1 + COORDINATE_LENGTH)).toString('base64url');
  const y = Buffer.from(point.subarray(1 + COORDINATE_LENGTH)).toString('base64url');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
}

function wrapKey(sharedX: Uint8Array, ephemeralPoint: Uint8Array, devicePoint: Uint8Array): Buffer {
  return deriveWrapKey(sharedX, Buffer.concat([ephemeralPoint, devicePoint]), INFO);
}

export function wrapEcdh(device: KeyObject, keyId: string, dataKey: Uint8Array, context: WrapContext): Stanza {
  const ephemeral = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: device });
  const ephemeralPoint = pointOf(ephemeral.publicKey);
  const key = wrapKey(shared, ephemeralPoint, pointOf(device));
  try {
    return { type: ECDH_STANZA_TYPE, args: [keyId], body: Buffer.concat([ephemeralPoint, aeadSeal(key, dataKey, context.aad)]) };
  } finally {
    shared.fill(0);
    key.fill(0);
  }
}

export interface EcdhBody {
  readonly ephemeralPoint: Buffer;
  readonly sealed: Buffer;
}

/** Null when the body is malformed or its point is not on the curve (then it cannot be ours). */
export function parseEcdhBody(body: Uint8Array): EcdhBody | null {
  if (body.length < POINT_LENGTH + TAG_LENGTH || body[0] !== 4) return null;
  const ephemeralPoint = Buffer.from(body.subarray(0, POINT_LENGTH));
  try {
    keyOfPoint(ephemeralPoint);
  } catch {
    return null;
  }
  return { ephemeralPoint, sealed: Buffer.from(body.subarray(POINT_LENGTH)) };
}

/** TPM2B_ECC_POINT, the input tpm2_ecdhzgen reads with `-u`. */
export function eccPointFile(point: Uint8Array): Buffer {
  const x = point.subarray(1, 1 + COORDINATE_LENGTH);
  const y = point.subarray(1 + COORDINATE_LENGTH);
  return sized16(Buffer.concat([sized16(x), sized16(y)]));
}

/** The x-coordinate from the TPM2B_ECC_POINT tpm2_ecdhzgen writes, left-padded to 32 bytes. */
export function sharedXFromTpm(output: Uint8Array): Buffer {
  const outer = new ByteReader(output);
  const inner = new ByteReader(outer.sized16());
  const x = inner.sized16();
  if (x.length > COORDINATE_LENGTH) throw new RangeError('Z point x-coordinate is too long');
  return Buffer.concat([Buffer.alloc(COORDINATE_LENGTH - x.length), x]);
}

export function openEcdh(sharedX: Uint8Array, body: EcdhBody, device: KeyObject, context: WrapContext): Buffer | null {
  const key = wrapKey(sharedX, body.ephemeralPoint, pointOf(device));
  try {
    return aeadOpen(key, body.sealed, context.aad);
  } finally {
    key.fill(0);
  }
}
