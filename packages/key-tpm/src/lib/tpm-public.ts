import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { ByteReader, u16 } from './bytes.js';

/** Parsing of TPM2B_PUBLIC (TPM 2.0 Part 2, §12.2) — just what the shim needs. */

export const TPM_ALG = {
  rsa: 0x0001,
  sha1: 0x0004,
  sha256: 0x000b,
  sha384: 0x000c,
  sha512: 0x000d,
  null: 0x0010,
  keyedhash: 0x0008,
  ecc: 0x0023,
  symcipher: 0x0025,
  xor: 0x000a,
  hmac: 0x0005,
} as const;

const HASH_BY_ALG = new Map<number, string>([
  [TPM_ALG.sha1, 'sha1'],
  [TPM_ALG.sha256, 'sha256'],
  [TPM_ALG.sha384, 'sha384'],
  [TPM_ALG.sha512, 'sha512'],
]);

const ECC_NIST_P256 = 0x0003;
const ATTR_USER_WITH_AUTH = 1 << 6;
const ATTR_RESTRICTED = 1 << 16;
const ATTR_DECRYPT = 1 << 17;

export interface TpmPublic {
  readonly type: number;
  readonly nameAlg: number;
  readonly attributes: number;
  readonly authPolicy: Buffer;
  /** The public key, for RSA and ECC P-256 objects. */
  readonly key?: KeyObject;
  /** nameAlg ‖ H(TPMT_PUBLIC): how the TPM names the object (it identifies a primary, hence a TPM). */
  readonly name: Buffer;
}

function skipSymmetric(r: ByteReader) {
  if (r.u16() !== TPM_ALG.null) r.bytes(4); // keyBits, mode
}

/** RSA, ECC and keyed-hash schemes all carry one hash after a non-null scheme (ECDAA adds a count). */
function skipScheme(r: ByteReader, ecdaa = 0x001a) {
  const scheme = r.u16();
  if (scheme === TPM_ALG.null || scheme === 0x0015 /* RSAES: no details */) return;
  r.bytes(2);
  if (scheme === ecdaa || scheme === TPM_ALG.xor) r.bytes(2);
}

function base64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

function rsaKey(r: ByteReader): KeyObject {
  skipSymmetric(r);
  skipScheme(r);
  r.u16(); // keyBits: the modulus says it
  const exponent = r.u32() || 65537;
  const modulus = r.sized16();
  const e = Buffer.from(exponent.toString(16).padStart(6, '0'), 'hex');
  return createPublicKey({ key: { kty: 'RSA', n: base64url(modulus), e: base64url(e.subarray(e.findIndex((b) => b !== 0))) }, format: 'jwk' });
}

function eccKey(r: ByteReader): KeyObject | undefined {
  skipSymmetric(r);
  skipScheme(r);
  const curve = r.u16();
  skipScheme(r); // KDF
  const x = r.sized16();
  const y = r.sized16();
  if (curve !== ECC_NIST_P256) return undefined;
  const pad = (v: Buffer) => Buffer.concat([Buffer.alloc(Math.max(0, 32 - v.length)), v]);
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: base64url(pad(x)), y: base64url(pad(y)) }, format: 'jwk' });
}

/** Parses a TPM2B_PUBLIC as tpm2-tools writes it (`-u`, `-o` of createprimary and readpublic). */
export function parseTpmPublic(bytes: Uint8Array): TpmPublic {
  const outer = new ByteReader(bytes);
  const area = outer.sized16();
  outer.end();
  const r = new ByteReader(area);
  const type = r.u16();
  const nameAlg = r.u16();
  const attributes = r.u32();
  const authPolicy = Buffer.from(r.sized16());
  const key = type === TPM_ALG.rsa ? rsaKey(r) : type === TPM_ALG.ecc ? eccKey(r) : undefined;
  const hash = HASH_BY_ALG.get(nameAlg);
  if (hash === undefined) throw new RangeError(`unsupported name algorithm 0x${nameAlg.toString(16)}`);
  const name = Buffer.concat([u16(nameAlg), createHash(hash).update(area).digest()]);
  return { type, nameAlg, attributes, authPolicy, name, ...(key ? { key } : {}) };
}

/** True when the object can be used with its (empty) password, i.e. it has no mandatory policy. */
export function usableWithPassword(pub: TpmPublic): boolean {
  return (pub.attributes & ATTR_USER_WITH_AUTH) !== 0;
}

/** An unrestricted decryption key: what TPM2_ECDH_ZGen and TPM2_RSA_Decrypt accept (not a storage key). */
export function isDecryptionKey(pub: TpmPublic): boolean {
  return (pub.attributes & ATTR_DECRYPT) !== 0 && (pub.attributes & ATTR_RESTRICTED) === 0;
}
