import { X509Certificate } from 'node:crypto';
import { AttestationError } from './attestation-error.js';
import { certificatesOf } from './lib/attestation/certificates.js';
import type { EndorsementKeyPublic } from './lib/attestation/key-roles.js';

/** What {@link verifyEkCertificate} found. */
export interface EkCertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  /** SHA-256 fingerprint of the EK certificate. */
  readonly fingerprint256: string;
  /** The subject of the trusted CA certificate that issued it. */
  readonly anchor: string;
}

function parseCertificate(der: Uint8Array): X509Certificate {
  try {
    return new X509Certificate(Buffer.from(der));
  } catch (cause) {
    throw new AttestationError('ERR_ATTEST_EK_CERTIFICATE', 'the EK certificate is not an X.509 certificate', { cause });
  }
}

function validAt(certificate: X509Certificate, now: Date): boolean {
  return Date.parse(certificate.validFrom) <= now.getTime() && now.getTime() <= Date.parse(certificate.validTo);
}

/** A trusted CA certificate, valid now, whose name and key issued `certificate`. */
function issuerAmong(certificate: X509Certificate, anchors: readonly X509Certificate[], now: Date): X509Certificate | undefined {
  return anchors.find((ca) => ca.ca && validAt(ca, now) && certificate.checkIssued(ca) && certificate.verify(ca.publicKey));
}

/**
 * Checks an endorsement key certificate (DER, as the TPM keeps it in NV, e.g. index 0x01c00002):
 * signed by one of the trusted manufacturer CA certificates (every certificate given is a trust
 * anchor: list the manufacturer's issuing CAs), valid now, and certifying exactly this endorsement
 * key. Throws `AttestationError` `ERR_ATTEST_EK_CERTIFICATE` otherwise.
 *
 * @example
 * ```ts
 * const ek = parseEndorsementKey(ekPublicArea);
 * const info = verifyEkCertificate(ekCertDer, ek, [readFileSync('/etc/ovseal/tpm-manufacturers.pem', 'utf8')]);
 * ```
 */
export function verifyEkCertificate(
  certificate: Uint8Array,
  ek: EndorsementKeyPublic,
  trusted: readonly (string | Uint8Array | X509Certificate)[],
  now: Date = new Date(),
): EkCertificateInfo {
  const leaf = parseCertificate(certificate);
  if (!validAt(leaf, now))
    throw new AttestationError('ERR_ATTEST_EK_CERTIFICATE', `the EK certificate is not valid now (${leaf.validFrom} – ${leaf.validTo})`);
  const anchor = issuerAmong(leaf, certificatesOf(trusted), now);
  if (!anchor)
    throw new AttestationError(
      'ERR_ATTEST_EK_CERTIFICATE',
      `the EK certificate (issuer "${leaf.issuer}") is not signed by a trusted manufacturer CA`,
      { hint: "add the TPM manufacturer's issuing CA certificate to the trusted EK CAs" },
    );
  if (!leaf.publicKey.equals(ek.publicKey))
    throw new AttestationError('ERR_ATTEST_EK_CERTIFICATE', 'the EK certificate certifies another key than this endorsement key');
  return {
    subject: leaf.subject,
    issuer: leaf.issuer,
    serialNumber: leaf.serialNumber,
    fingerprint256: leaf.fingerprint256,
    anchor: anchor.subject,
  };
}
