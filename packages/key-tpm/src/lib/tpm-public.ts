import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { ByteReader, u16 } from './bytes.js';

/** Parsing of TPM2B_PUBLIC (TPM 2.0 Part 2, §12.2): what the shim and the attestation checks need. */

export const TPM_ALG = {
  rsa: 0x0001,
  sha1: 0x0004,
  hmac: 0x0005,
  aes: 0x0006,
  keyedhash: 0x0008,
  xor: 0x000a,
  sha256: 0x000b,
  sha384: 0x000c,
  sha512: 0x000d,
  null: 0x0010,
  rsassa: 0x0014,
  rsaes: 0x0015,
  rsapss: 0x0016,
  oaep: 0x0017,
  ecdsa: 0x0018,
  ecdh: 0x0019,
  ecdaa: 0x001a,
  ecc: 0x0023,
  symcipher: 0x0025,
  cfb: 0x0043,
} as const;

/** TPM_ECC_CURVE values of the NIST curves and their OpenSSL names. */
export const TPM_ECC_CURVE = { p256: 0x0003, p384: 0x0004, p521: 0x0005 } as const;
const CURVES = new Map<number, { jwk: string; bytes: number }>([
  [TPM_ECC_CURVE.p256, { jwk: 'P-256', bytes: 32 }],
  [TPM_ECC_CURVE.p384, { jwk: 'P-384', bytes: 48 }],
  [TPM_ECC_CURVE.p521, { jwk: 'P-521', bytes: 66 }],
]);

const HASHES = new Map<number, { name: string; size: number }>([
  [TPM_ALG.sha1, { name: 'sha1', size: 20 }],
  [TPM_ALG.sha256, { name: 'sha256', size: 32 }],
  [TPM_ALG.sha384, { name: 'sha384', size: 48 }],
  [TPM_ALG.sha512, { name: 'sha512', size: 64 }],
]);

/** The Node name and digest size of a TPM hash algorithm, or undefined when it is not one. */
export function hashOfAlg(alg: number): { readonly name: string; readonly size: number } | undefined {
  return HASHES.get(alg);
}

/** Object attributes (TPMA_OBJECT) the checks name. */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

/** TPMT_SYM_DEF_OBJECT: how an object protects its children (and a storage/EK key, credentials). */
export interface TpmSymmetric {
  readonly alg: number;
  readonly keyBits: number;
  readonly mode: number;
}

/** A signing, decryption or key-derivation scheme and its hash. */
export interface TpmScheme {
  readonly alg: number;
  readonly hash: number;
}

export interface TpmPublic {
  readonly type: number;
  readonly nameAlg: number;
  readonly attributes: number;
  readonly authPolicy: Buffer;
  /** The public key, for RSA and NIST-curve ECC objects. */
  readonly key?: KeyObject;
  /** TPM_ECC_CURVE of an ECC object. */
  readonly curve?: number;
  /** The symmetric definition of an RSA or ECC object (null: TPM_ALG_NULL). */
  readonly symmetric?: TpmSymmetric | null;
  /** The scheme of an RSA or ECC object (null: TPM_ALG_NULL). */
  readonly scheme?: TpmScheme | null;
  /** nameAlg ‖ H(TPMT_PUBLIC): how the TPM names the object (it identifies a primary, hence a TPM). */
  readonly name: Buffer;
  /** The TPMT_PUBLIC bytes the name hashes. */
  readonly area: Buffer;
}

function readSymmetric(r: ByteReader): TpmSymmetric | null {
  const alg = r.u16();
  if (alg === TPM_ALG.null) return null;
  return { alg, keyBits: r.u16(), mode: r.u16() };
}

/** RSA, ECC and KDF schemes carry one hash after a non-null scheme (ECDAA adds a count). */
function readScheme(r: ByteReader): TpmScheme | null {
  const alg = r.u16();
  if (alg === TPM_ALG.null) return null;
  if (alg === TPM_ALG.rsaes) return { alg, hash: TPM_ALG.null };
  const hash = r.u16();
  if (alg === TPM_ALG.ecdaa || alg === TPM_ALG.xor) r.bytes(2);
  return { alg, hash };
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function rsaParameters(r: ByteReader) {
  const symmetric = readSymmetric(r);
  const scheme = readScheme(r);
  r.u16(); // keyBits: the modulus says it
  const exponent = r.u32() || 65537;
  const modulus = r.sized16();
  const e = Buffer.from(exponent.toString(16).padStart(6, '0'), 'hex');
  const key = createPublicKey({
    key: { kty: 'RSA', n: base64url(modulus), e: base64url(e.subarray(e.findIndex((b) => b !== 0))) },
    format: 'jwk',
  });
  return { symmetric, scheme, key };
}

function eccParameters(r: ByteReader) {
  const symmetric = readSymmetric(r);
  const scheme = readScheme(r);
  const curve = r.u16();
  readScheme(r); // KDF
  const x = r.sized16();
  const y = r.sized16();
  const known = CURVES.get(curve);
  if (!known || x.length > known.bytes || y.length > known.bytes) return { symmetric, scheme, curve };
  const pad = (v: Buffer) => Buffer.concat([Buffer.alloc(known.bytes - v.length), v]);
  const key = createPublicKey({ key: { kty: 'EC', crv: known.jwk, x: base64url(pad(x)), y: base64url(pad(y)) }, format: 'jwk' });
  return { symmetric, scheme, curve, key };
}

/** The object's Name: nameAlg ‖ H_nameAlg(TPMT_PUBLIC) (Part 1, §16). */
export function objectName(nameAlg: number, area: Uint8Array): Buffer {
  const hash = hashOfAlg(nameAlg);
  if (hash === undefined) throw new RangeError(`unsupported name algorithm 0x${nameAlg.toString(16)}`);
  return Buffer.concat([u16(nameAlg), createHash(hash.name).update(area).digest()]);
}

/**
 * Parses a TPM2B_PUBLIC as tpm2-tools writes it (`-u`, `-o` of createprimary and readpublic).
 * Throws a RangeError (unknown name algorithm) or a ShortInputError (truncated, trailing bytes).
 */
export function parseTpmPublic(bytes: Uint8Array): TpmPublic {
  const outer = new ByteReader(bytes);
  const area = Buffer.from(outer.sized16());
  outer.end();
  const r = new ByteReader(area);
  const type = r.u16();
  const nameAlg = r.u16();
  const attributes = r.u32();
  const authPolicy = Buffer.from(r.sized16());
  const parameters = type === TPM_ALG.rsa ? rsaParameters(r) : type === TPM_ALG.ecc ? eccParameters(r) : undefined;
  if (parameters) r.end();
  return { type, nameAlg, attributes, authPolicy, name: objectName(nameAlg, area), area, ...parameters };
}

/** True when the object can be used with its (empty) password, i.e. it has no mandatory policy. */
export function usableWithPassword(pub: TpmPublic): boolean {
  return (pub.attributes & TPMA_OBJECT.userWithAuth) !== 0;
}

/** An unrestricted decryption key: what TPM2_ECDH_ZGen and TPM2_RSA_Decrypt accept (not a storage key). */
export function isDecryptionKey(pub: TpmPublic): boolean {
  return (pub.attributes & TPMA_OBJECT.decrypt) !== 0 && (pub.attributes & TPMA_OBJECT.restricted) === 0;
}
