import type { KeyObject } from 'node:crypto';
import { AttestationError } from '../../attestation-error.js';
import { hashOfAlg, parseTpmPublic, TPM_ALG, TPMA_OBJECT, type TpmPublic, type TpmScheme, type TpmSymmetric } from '../tpm-public.js';

/** An endorsement key as the credential challenge uses it: a restricted decryption key of one TPM. */
export interface EndorsementKeyPublic {
  /** The TPM2B_PUBLIC it was parsed from. */
  readonly publicArea: Buffer;
  /** nameAlg ‖ H(TPMT_PUBLIC). */
  readonly name: Buffer;
  /** The hash of the KDFs, the OAEP padding and the integrity HMAC of a credential. */
  readonly nameAlg: number;
  readonly type: 'rsa' | 'ecc';
  readonly publicKey: KeyObject;
  /** How credentials are encrypted to it (AES-CFB). */
  readonly symmetric: TpmSymmetric;
}

/** An attestation key: a restricted signing key that never leaves its TPM. */
export interface AttestationKeyPublic {
  /** The TPM2B_PUBLIC it was parsed from. */
  readonly publicArea: Buffer;
  /** nameAlg ‖ H(TPMT_PUBLIC): what a credential is bound to. */
  readonly name: Buffer;
  readonly type: 'rsa' | 'ecc';
  readonly publicKey: KeyObject;
  /** Its fixed signing scheme (RSASSA, RSAPSS or ECDSA) and hash: quotes are signed, and their PCR digest computed, with it. */
  readonly scheme: TpmScheme;
}

const SIGNING_SCHEMES: Record<'rsa' | 'ecc', readonly number[]> = { rsa: [TPM_ALG.rsassa, TPM_ALG.rsapss], ecc: [TPM_ALG.ecdsa] };
const STRONG_HASHES = new Set<number>([TPM_ALG.sha256, TPM_ALG.sha384, TPM_ALG.sha512]);

function parse(bytes: Uint8Array, what: string): TpmPublic {
  try {
    return parseTpmPublic(bytes);
  } catch (cause) {
    throw new AttestationError('ERR_ATTEST_MALFORMED', `the ${what} is not a TPM2B_PUBLIC: ${(cause as Error).message}`, { cause });
  }
}

function has(pub: TpmPublic, attribute: number): boolean {
  return (pub.attributes & attribute) !== 0;
}

function keyTypeOf(pub: TpmPublic, what: string): { type: 'rsa' | 'ecc'; publicKey: KeyObject } {
  if ((pub.type !== TPM_ALG.rsa && pub.type !== TPM_ALG.ecc) || !pub.key) {
    throw new AttestationError('ERR_ATTEST_UNSUPPORTED', `the ${what} is neither an RSA nor a NIST-curve ECC key`);
  }
  if (pub.type === TPM_ALG.rsa && (pub.key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new AttestationError('ERR_ATTEST_KEY', `the ${what} is an RSA key of fewer than 2048 bits`);
  }
  return { type: pub.type === TPM_ALG.rsa ? 'rsa' : 'ecc', publicKey: pub.key };
}

function requireAttributes(pub: TpmPublic, what: string, needed: Record<string, number>, forbidden: Record<string, number>): void {
  const missing = Object.keys(needed).filter((name) => !has(pub, needed[name]!));
  const present = Object.keys(forbidden).filter((name) => has(pub, forbidden[name]!));
  if (missing.length > 0 || present.length > 0) {
    const problems = [...missing.map((name) => `not ${name}`), ...present.map((name) => `${name} set`)];
    throw new AttestationError('ERR_ATTEST_KEY', `the ${what} has the wrong attributes (${problems.join(', ')})`);
  }
}

/**
 * Parses and checks an endorsement key's TPM2B_PUBLIC: RSA (2048+) or NIST ECC, a restricted
 * decryption key that cannot leave the TPM (fixedTPM, fixedParent), with an AES-CFB symmetric
 * definition and a SHA-2 name algorithm — the TCG EK templates.
 */
export function parseEndorsementKeyPublic(bytes: Uint8Array): EndorsementKeyPublic {
  const pub = parse(bytes, 'endorsement key');
  const { type, publicKey } = keyTypeOf(pub, 'endorsement key');
  requireAttributes(
    pub,
    'endorsement key',
    {
      fixedTPM: TPMA_OBJECT.fixedTPM,
      fixedParent: TPMA_OBJECT.fixedParent,
      restricted: TPMA_OBJECT.restricted,
      decrypt: TPMA_OBJECT.decrypt,
    },
    { sign: TPMA_OBJECT.sign },
  );
  const symmetric = pub.symmetric;
  if (!symmetric || symmetric.alg !== TPM_ALG.aes || symmetric.mode !== TPM_ALG.cfb || ![128, 192, 256].includes(symmetric.keyBits)) {
    throw new AttestationError('ERR_ATTEST_UNSUPPORTED', 'the endorsement key does not protect credentials with AES-CFB');
  }
  if (!STRONG_HASHES.has(pub.nameAlg))
    throw new AttestationError(
      'ERR_ATTEST_UNSUPPORTED',
      `the endorsement key's name algorithm 0x${pub.nameAlg.toString(16)} is not SHA-256/384/512`,
    );
  return { publicArea: Buffer.from(bytes), name: pub.name, nameAlg: pub.nameAlg, type, publicKey, symmetric };
}

/**
 * Parses and checks an attestation key's TPM2B_PUBLIC: a restricted signing key (it signs only
 * TPM-generated structures, so a quote cannot be forged with it), generated inside the TPM and
 * never leaving it (sensitiveDataOrigin, fixedTPM, fixedParent), with a fixed RSASSA, RSAPSS or
 * ECDSA scheme over SHA-256/384/512.
 */
export function parseAttestationKeyPublic(bytes: Uint8Array): AttestationKeyPublic {
  const pub = parse(bytes, 'attestation key');
  const { type, publicKey } = keyTypeOf(pub, 'attestation key');
  requireAttributes(
    pub,
    'attestation key',
    {
      fixedTPM: TPMA_OBJECT.fixedTPM,
      fixedParent: TPMA_OBJECT.fixedParent,
      sensitiveDataOrigin: TPMA_OBJECT.sensitiveDataOrigin,
      restricted: TPMA_OBJECT.restricted,
      sign: TPMA_OBJECT.sign,
    },
    { decrypt: TPMA_OBJECT.decrypt },
  );
  const scheme = pub.scheme;
  if (!scheme || !SIGNING_SCHEMES[type].includes(scheme.alg) || !STRONG_HASHES.has(scheme.hash) || !hashOfAlg(pub.nameAlg)) {
    throw new AttestationError('ERR_ATTEST_KEY', 'the attestation key has no fixed RSASSA, RSAPSS or ECDSA scheme over SHA-256/384/512');
  }
  return { publicArea: Buffer.from(bytes), name: pub.name, type, publicKey, scheme };
}
