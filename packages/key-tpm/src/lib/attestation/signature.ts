import { constants, verify as verifySignature } from 'node:crypto';
import { AttestationError } from '../../attestation-error.js';
import { ByteReader } from '../bytes.js';
import { hashOfAlg, TPM_ALG } from '../tpm-public.js';
import type { AttestationKeyPublic } from './key-roles.js';

/** TPMT_SIGNATURE (TPM 2.0 Part 2, §11.3.4), as tpm2_quote -s writes it. */
export interface TpmSignature {
  readonly alg: number;
  readonly hash: number;
  /** RSASSA / RSAPSS: the signature; ECDSA: r ‖ s, each left-padded to the curve size. */
  readonly bytes: Buffer;
}

const CURVE_BYTES: Record<string, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

function leftPad(value: Buffer, size: number): Buffer {
  if (value.length > size) throw new RangeError(`an ECDSA component of ${value.length} bytes on a ${size}-byte curve`);
  return Buffer.concat([Buffer.alloc(size - value.length), value]);
}

function readSignature(bytes: Uint8Array, ak: AttestationKeyPublic): TpmSignature {
  const r = new ByteReader(bytes);
  const alg = r.u16();
  const hash = r.u16();
  let signature: Buffer;
  if (alg === TPM_ALG.ecdsa) {
    const size = CURVE_BYTES[ak.publicKey.asymmetricKeyDetails?.namedCurve ?? ''] ?? 0;
    const rPart = r.sized16();
    const sPart = r.sized16();
    signature = Buffer.concat([leftPad(rPart, size), leftPad(sPart, size)]);
  } else {
    signature = Buffer.from(r.sized16());
  }
  r.end();
  return { alg, hash, bytes: signature };
}

/** Parses a TPMT_SIGNATURE made by `ak`; a signature of another scheme than the key's fixed one is refused. */
export function parseSignature(bytes: Uint8Array, ak: AttestationKeyPublic): TpmSignature {
  let signature: TpmSignature;
  try {
    signature = readSignature(bytes, ak);
  } catch (cause) {
    throw new AttestationError('ERR_ATTEST_MALFORMED', `the signature is not a TPMT_SIGNATURE: ${(cause as Error).message}`, { cause });
  }
  if (signature.alg !== ak.scheme.alg || signature.hash !== ak.scheme.hash) {
    throw new AttestationError('ERR_ATTEST_SIGNATURE', "the signature does not use the attestation key's scheme");
  }
  return signature;
}

/** Verifies `signature` over `data` with the attestation key (Node's crypto, OpenSSL). */
export function signatureVerifies(ak: AttestationKeyPublic, data: Uint8Array, signature: TpmSignature): boolean {
  const hash = hashOfAlg(signature.hash)!.name;
  if (signature.alg === TPM_ALG.ecdsa)
    return verifySignature(hash, data, { key: ak.publicKey, dsaEncoding: 'ieee-p1363' }, signature.bytes);
  const padding =
    signature.alg === TPM_ALG.rsapss
      ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }
      : { padding: constants.RSA_PKCS1_PADDING };
  return verifySignature(hash, data, { key: ak.publicKey, ...padding }, signature.bytes);
}
