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
  /** The proof secret wrapped to the device key (`tpm-ecdh` or `tpm-rsa`), bound by {@link challengeContext}. */
  readonly stanza: WireStanza;
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
}
