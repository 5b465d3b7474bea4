import { parseEndorsementKeyPublic, type EndorsementKeyPublic } from './lib/attestation/key-roles.js';

export type { EndorsementKeyPublic };

/**
 * Parses an endorsement key's TPM2B_PUBLIC (`tpm2_readpublic -o`, `tpm2_createek -u`) and checks it
 * is one: RSA or NIST ECC, restricted decryption, fixedTPM and fixedParent, AES-CFB protection.
 * Throws an `AttestationError` (`ERR_ATTEST_MALFORMED`, `ERR_ATTEST_KEY`, `ERR_ATTEST_UNSUPPORTED`).
 *
 * @example
 * ```ts
 * const ek = parseEndorsementKey(await readFile('ek.pub'));
 * console.log(ek.type, ek.name.toString('hex'));
 * ```
 */
export function parseEndorsementKey(publicArea: Uint8Array): EndorsementKeyPublic {
  return parseEndorsementKeyPublic(publicArea);
}
