/** A stanza as JSON: its body in base64. */
export interface WireStanza {
  readonly type: string;
  readonly args: readonly string[];
  /** Base64 of the stanza body. */
  readonly body: string;
}

/** `POST /v1/challenges` answer: a secret only the device's TPM key can unwrap. */
export interface ChallengeResponse {
  readonly deviceId: string;
  /** Single-use, base64url; goes into the device's next request. */
  readonly nonce: string;
  /** ISO time after which the nonce is refused. */
  readonly expiresAt: string;
  /** The proof secret wrapped to the device key (`tpm-ecdh` or `tpm-rsa`), bound by {@link challengeWrapFields}. */
  readonly stanza: WireStanza;
  /**
   * What a device with an attestation key quotes when this challenge authenticates a key request:
   * every challenge carries it (so it tells nothing about the id); the broker checks the quote of
   * devices that enrolled an attestation key.
   */
  readonly attest?: AttestRequest;
}

/** The quote a key request of an attesting device carries (`quote` in the request body). */
export interface AttestRequest {
  /** The PCRs to quote, `sha256:0,1,2,3,4,5,6,7`; qualifying data: `quoteQualifyingData('release', nonce, deviceId)`. */
  readonly pcrs: string;
}

/** A TPM2_Quote on the wire: tpm2_quote's three outputs, base64. */
export interface WireQuote {
  /** The PCR selection quoted, `sha256:0,7`. */
  readonly pcrs: string;
  /** The signed TPMS_ATTEST (`tpm2_quote -m`). */
  readonly attest: string;
  /** The TPMT_SIGNATURE (`tpm2_quote -s`). */
  readonly signature: string;
  /** The quoted PCR values, concatenated in index order (`tpm2_quote -o FILE -F values`). */
  readonly pcrValues: string;
}

/** `POST /v1/models/{id}/key` body. */
export interface KeyReleaseRequest {
  /** Required from a device that enrolled an attestation key. */
  readonly quote?: WireQuote;
  /**
   * Chosen by the device (a random UUID, {@link REQUEST_ID_PATTERN}) and kept across retries of one
   * fetch: a retry — to the same broker or another one after a failover — whose first attempt was
   * counted is answered again without being counted twice.
   */
  readonly requestId?: string;
}

/**
 * The attestation part of `POST /v1/enrol`. The first request carries the keys; the broker answers
 * `202` with an {@link ActivationChallenge}; the second carries the same keys, the activation and a
 * quote.
 */
export interface EnrolAttestation {
  /** The endorsement key's TPM2B_PUBLIC, base64. */
  readonly ekPublic: string;
  /** Its certificate (DER, base64), from the TPM's NV. Without one, the token must allow it. */
  readonly ekCertificate?: string;
  /** The attestation key's TPM2B_PUBLIC, base64. */
  readonly akPublic: string;
  /** Second request: the challenge's nonce and the secret TPM2_ActivateCredential gave back (base64). */
  readonly activation?: { readonly nonce: string; readonly secret: string };
  /** Second request: a quote over the challenge's PCRs for `quoteQualifyingData('enrol', nonce, deviceId)`. */
  readonly quote?: WireQuote;
}

/** `POST /v1/enrol` body. */
export interface EnrolRequest {
  readonly deviceId: string;
  readonly publicKeyPem: string;
  readonly keyType?: string;
  readonly attestation?: EnrolAttestation;
}

/**
 * `202` answer to the first request of an attested enrolment: a credential (TPM2_MakeCredential)
 * that only the TPM holding both the endorsement key and the attestation key can activate.
 */
export interface ActivationChallenge {
  readonly deviceId: string;
  /** Goes back in `activation.nonce`; the quote's qualifying data derives from it. */
  readonly nonce: string;
  readonly expiresAt: string;
  /** TPM2B_ID_OBJECT, base64 (`credentialBlob` of TPM2_ActivateCredential). */
  readonly idObject: string;
  /** TPM2B_ENCRYPTED_SECRET, base64. */
  readonly encryptedSecret: string;
  /** The PCRs to quote in the second request. */
  readonly pcrs: string;
}

/** Which PCRs of one policy differ from every value set it allows (in `pcr_mismatch` refusals). */
export interface PcrMismatch {
  readonly policy: string;
  /** `sha256:7`: the PCRs that differ from the closest allowed set (all of the policy's when it allows none). */
  readonly pcrs: string;
}

/** One model the device may run, as `GET /v1/models` lists it. */
export interface DeviceModel {
  /** `name@version`. */
  readonly id: string;
  readonly name: string;
  readonly version: string;
  /** Hex container id (the wrap context of the stanza). */
  readonly containerId: string;
  /** Container size in bytes. */
  readonly size: number;
  /** Strong ETag of the container bytes (null for a container hosted elsewhere). */
  readonly etag: string | null;
  /** Where to download the sealed container: a signed broker URL or the registered external URL. */
  readonly url: string;
  /** The earliest of the grant's and the model's not-after times (ISO). */
  readonly notAfter: string;
  /** Key releases the grant still allows. */
  readonly releasesLeft: number;
}

/** `GET /v1/models` answer. */
export interface DeviceModelList {
  readonly deviceId: string;
  readonly models: readonly DeviceModel[];
}

/** What a request id (`KeyReleaseRequest.requestId`) looks like: 8 to 64 characters of base64url. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

/** `POST /v1/models/{id}/key` answer: the data key wrapped to this device's TPM key only. */
export interface KeyReleaseResponse {
  readonly model: string;
  readonly name: string;
  readonly version: string;
  readonly containerId: string;
  readonly stanza: WireStanza;
  /** The device must stop using the key after this time (ISO). */
  readonly notAfter: string;
  readonly releasesLeft: number;
}

/** Error body of every refused request. `error` is a stable code; `message` is for people. */
export interface BrokerErrorBody {
  readonly error: string;
  readonly message: string;
  /** `pcr_mismatch`: which PCRs differ, per policy. */
  readonly mismatched?: readonly PcrMismatch[];
}
