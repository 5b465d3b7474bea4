import {
  AttestationError,
  parseAttestationKey,
  parseEndorsementKey,
  verifyEkCertificate,
  type AttestationKeyPublic,
  type EndorsementKeyPublic,
} from '@ovseal/key-tpm';
import type { EnrolmentTokenRecord } from '../../store.js';
import { HttpError } from '../http.js';
import { base64Field, objectField } from './wire-bytes.js';

/** The attestation part of an enrolment request, parsed and its keys checked for their roles. */
export interface EnrolmentClaims {
  readonly ek: EndorsementKeyPublic;
  readonly ekCertificate: Buffer | null;
  readonly ak: AttestationKeyPublic;
  /** Second request only. */
  readonly activation?: { readonly nonce: string; readonly secret: Buffer };
  readonly quote?: Record<string, unknown>;
}

/** How the EK was accepted, for the attestation record and the audit log. */
export interface Endorsement {
  readonly verification: 'certificate' | 'no-certificate';
  readonly issuer: string | null;
  /** For the audit log: which certificate, or why none was needed. */
  readonly description: string;
}

const MAX_PUBLIC_AREA = 1024;
const MAX_CERTIFICATE = 8192;

function keyOf<T>(parse: () => T, code: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof AttestationError) throw new HttpError(400, code, error.message);
    throw error;
  }
}

function activationOf(attestation: Record<string, unknown>): EnrolmentClaims['activation'] {
  const activation = objectField(attestation, 'activation', 'bad_attestation');
  if (!activation) return undefined;
  const nonce = activation['nonce'];
  if (typeof nonce !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(nonce))
    throw new HttpError(400, 'bad_attestation', 'activation.nonce is the nonce of the credential challenge');
  return { nonce, secret: base64Field(activation, 'secret', 64, 'bad_attestation') };
}

/** Parses `attestation` of an enrolment body: EK (checked as a restricted decryption key), its certificate, AK (restricted signing), activation, quote. */
export function parseEnrolmentClaims(attestation: Record<string, unknown>): EnrolmentClaims {
  const ek = keyOf(() => parseEndorsementKey(base64Field(attestation, 'ekPublic', MAX_PUBLIC_AREA, 'bad_attestation')), 'ek_unsuitable');
  const ak = keyOf(() => parseAttestationKey(base64Field(attestation, 'akPublic', MAX_PUBLIC_AREA, 'bad_attestation')), 'ak_unsuitable');
  const ekCertificate =
    attestation['ekCertificate'] === undefined || attestation['ekCertificate'] === null
      ? null
      : base64Field(attestation, 'ekCertificate', MAX_CERTIFICATE, 'bad_attestation');
  const activation = activationOf(attestation);
  const quote = objectField(attestation, 'quote', 'bad_quote');
  return { ek, ekCertificate, ak, ...(activation ? { activation } : {}), ...(quote ? { quote } : {}) };
}

/**
 * Accepts the endorsement key: its certificate must chain to a trusted manufacturer CA and certify
 * it; without a certificate, only when the token says so (the EK is then taken on trust).
 */
export function verifyEndorsement(
  claims: EnrolmentClaims,
  token: EnrolmentTokenRecord,
  trustedCas: readonly string[],
  now: number,
): Endorsement {
  if (claims.ekCertificate === null) {
    if (!token.allowMissingEkCertificate)
      throw new HttpError(403, 'ek_certificate_required', 'the TPM sent no EK certificate, and this enrolment token does not allow that');
    return { verification: 'no-certificate', issuer: null, description: `no EK certificate: allowed by token ${token.id}` };
  }
  try {
    const info = verifyEkCertificate(claims.ekCertificate, claims.ek, trustedCas, new Date(now));
    return { verification: 'certificate', issuer: info.issuer, description: `EK certificate ${info.serialNumber} from "${info.issuer}"` };
  } catch (error) {
    if (error instanceof AttestationError) throw new HttpError(403, 'ek_certificate_untrusted', error.message);
    throw error;
  }
}
