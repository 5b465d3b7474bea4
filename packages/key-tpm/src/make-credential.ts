import { makeCredentialBlob, type CredentialBlob } from './lib/attestation/credential.js';
import { parseEndorsementKeyPublic, type EndorsementKeyPublic } from './lib/attestation/key-roles.js';

export type { CredentialBlob };

/**
 * TPM2_MakeCredential in Node, without a TPM: encrypts `credential` (up to the EK name digest size,
 * 32 bytes is right for every EK) to an endorsement key, bound to an object's name — typically an
 * attestation key's. Only TPM2_ActivateCredential on the TPM that holds that EK, with the object of
 * that name loaded, gives the credential back: a device that returns it proves the AK lives in the
 * same TPM as the (certified) EK. RSA EKs get the seed by RSA-OAEP, ECC EKs by ECDH and KDFe.
 *
 * @example
 * ```ts
 * const ek = parseEndorsementKey(ekPublicArea);
 * const ak = parseAttestationKey(akPublicArea);
 * const secret = randomBytes(32);
 * const { idObject, encryptedSecret } = makeCredential(ek, ak.name, secret);
 * // the device: await attestationKey.activateCredential({ idObject, encryptedSecret }) → secret
 * ```
 */
export function makeCredential(ek: EndorsementKeyPublic | Uint8Array, objectName: Uint8Array, credential: Uint8Array): CredentialBlob {
  const endorsementKey = ek instanceof Uint8Array ? parseEndorsementKeyPublic(ek) : ek;
  return makeCredentialBlob(endorsementKey, objectName, credential);
}
