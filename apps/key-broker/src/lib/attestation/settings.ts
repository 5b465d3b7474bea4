import type { CredentialChallenges } from './credential-challenges.js';

/** The broker's attestation configuration (BrokerCore.attestation). */
export interface AttestationSettings {
  /** Trusted TPM manufacturer CA certificates (PEM bundles). */
  readonly ekCaCertificates: readonly string[];
  /** PCRs every quote covers besides the policies' (one bank; policies use the same bank). */
  readonly defaultPcrs: string;
  readonly credentials: CredentialChallenges;
}
