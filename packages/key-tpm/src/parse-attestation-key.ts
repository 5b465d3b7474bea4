import { parseAttestationKeyPublic, type AttestationKeyPublic } from './lib/attestation/key-roles.js';

export type { AttestationKeyPublic };

/**
 * Parses an attestation key's TPM2B_PUBLIC and checks it is one: a restricted signing key made
 * inside the TPM that cannot leave it (fixedTPM, fixedParent, sensitiveDataOrigin), with a fixed
 * RSASSA, RSAPSS or ECDSA scheme over SHA-256/384/512. Its `name` is what a credential binds to.
 * Throws an `AttestationError` (`ERR_ATTEST_MALFORMED`, `ERR_ATTEST_KEY`, `ERR_ATTEST_UNSUPPORTED`).
 *
 * @example
 * ```ts
 * const ak = parseAttestationKey(akPublicArea);
 * const credential = makeCredential(ek, ak.name, secret);
 * ```
 */
export function parseAttestationKey(publicArea: Uint8Array): AttestationKeyPublic {
  return parseAttestationKeyPublic(publicArea);
}
