import type { DeviceKeyType } from '@ovseal/key-tpm';
import type { PcrMismatch, WireStanza } from '@ovseal/broker-protocol';

/**
 * Persistence of the broker, as an interface: {@link SqliteBrokerStore} is the embedded default;
 * a PostgreSQL implementation (README, "Postgres mapping") replaces it when several brokers run
 * behind a load balancer. Every method is async so that a networked database fits; every method
 * that must be atomic says so, and the implementation runs it in one transaction.
 * Times are milliseconds since the epoch.
 */
export interface BrokerStore {
  /** A named server secret, created with `create()` the first time (atomically: first writer wins). */
  secret(name: string, create: () => Uint8Array): Promise<Uint8Array>;

  /** Throws a `BrokerError` with code `ERR_BROKER_CONFLICT` if the id exists. */
  insertModel(model: ModelRecord): Promise<void>;
  getModel(id: string): Promise<ModelRecord | undefined>;
  listModels(): Promise<ModelRecord[]>;

  /** Throws a `BrokerError` with code `ERR_BROKER_CONFLICT` if the id exists. */
  insertDevice(device: DeviceRecord): Promise<void>;
  getDevice(id: string): Promise<DeviceRecord | undefined>;
  listDevices(): Promise<DeviceRecord[]>;
  /**
   * Atomic: revokes the device and its key — every device registered with that key is revoked, and
   * the key can never be registered or enrolled again. Undefined if the device does not exist.
   * Revoking twice keeps the first time.
   */
  revokeDevice(id: string, at: number, reason: string): Promise<DeviceRecord | undefined>;
  /** Whether a device key id was revoked (with a device that had it). */
  isKeyRevoked(keyId: string): Promise<boolean>;

  insertGrant(grant: GrantRecord): Promise<void>;
  getGrant(id: string): Promise<GrantRecord | undefined>;
  listGrants(): Promise<GrantRecord[]>;
  revokeGrant(id: string, at: number): Promise<boolean>;
  /**
   * Grants whose subject is this device (its id and the key it had when granted) or one of its
   * labels, in any state; `deviceReleases` counts this device's releases under each.
   */
  grantsForDevice(device: DeviceRecord): Promise<GrantRecord[]>;

  /**
   * Atomic: re-checks that the grant is usable at `now` (not revoked, not expired, releases left,
   * and under its per-device cap for this device), adds one release (to the grant and to the
   * device's count) and appends the audit record. Refused when another release took the last one
   * meanwhile (or another broker did). With a `requestId`, a request id this device used before is
   * not counted again (`repeated: true`, nothing else written): a retry after a lost answer — to
   * this broker or another one — gets its key without spending a second release. With a `nonce`,
   * the request's nonce is used in the same commit (`replayed` when it was used already, nothing
   * written); a refusal leaves it unused.
   */
  recordRelease(grantId: string, deviceId: string, now: number, audit: AuditInput, options?: ReleaseOptions): Promise<ReleaseOutcome>;
  /** The release a device's request id was counted as, if it was. */
  findReleaseRequest(deviceId: string, requestId: string): Promise<ReleaseRequestRecord | undefined>;

  /** Atomic: false if the nonce was already used (a replay). */
  useNonce(nonce: string, deviceId: string, expiresAt: number): Promise<boolean>;
  /**
   * Drops used nonces that expired (they are refused on their time anyway), and release request ids
   * older than a day (a retry comes within seconds). Returns the number of nonces dropped.
   */
  purgeNonces(now: number): Promise<number>;

  insertEnrolmentToken(token: EnrolmentTokenRecord): Promise<void>;
  /** Every enrolment token (hashes included: views drop them). */
  listEnrolmentTokens(): Promise<EnrolmentTokenRecord[]>;
  /** False if the token does not exist. Revoking twice keeps the first time. */
  revokeEnrolmentToken(id: string, at: number): Promise<boolean>;
  /**
   * Atomic: checks the token (by hash) is unrevoked, unexpired, with uses left, and allows this
   * device id; that the device id is free, and the key neither revoked nor registered to another
   * device; counts a use, inserts the device with the token's labels and appends the audit record.
   * The reason on refusal.
   */
  enrolDevice(
    tokenHash: string,
    device: DeviceRecord,
    now: number,
    audit: AuditInput,
    attested?: AttestedEnrolment,
  ): Promise<{ ok: true; device: DeviceRecord } | { ok: false; reason: EnrolmentRefusal }>;
  /**
   * The checks of {@link enrolDevice} without enrolling (the first request of an attested
   * enrolment): the token if it would enrol this device now, else the reason.
   */
  peekEnrolment(
    tokenHash: string,
    device: DeviceRecord,
    now: number,
  ): Promise<{ ok: true; token: EnrolmentTokenRecord } | { ok: false; reason: EnrolmentRefusal }>;

  /** A device's endorsement key, proven attestation key and last quotes; undefined if it enrolled without. */
  getAttestation(deviceId: string): Promise<DeviceAttestationRecord | undefined>;
  /**
   * Atomic. `accepted`: the quote becomes the last one and its reset/restart counters the baseline —
   * false (nothing written) when they are below the baseline (a TPM state rollback, or a concurrent
   * later quote). `refused`: kept as the last refused quote, for an admin to accept. `baseline`: the
   * admin accepted it: last quote and counters set whatever they were.
   */
  recordQuote(deviceId: string, quote: QuoteRecord, outcome: 'accepted' | 'refused' | 'baseline'): Promise<boolean>;

  /** Throws a `BrokerError` with code `ERR_BROKER_CONFLICT` if the id exists. Values go in with {@link addPcrValues}. */
  insertPcrPolicy(policy: Omit<PcrPolicyRecord, 'values'>): Promise<void>;
  /** The policy with its current (not removed) value sets. */
  getPcrPolicy(id: string): Promise<PcrPolicyRecord | undefined>;
  listPcrPolicies(): Promise<PcrPolicyRecord[]>;
  /** False if there is no such policy. Removing twice keeps the first time. */
  removePcrPolicy(id: string, at: number): Promise<boolean>;
  /**
   * The policies (not removed) whose subject is this device or one of its labels, each with the
   * value sets that apply to it (the policy's own and the ones for this device).
   */
  pcrPoliciesForDevice(device: Pick<DeviceRecord, 'id' | 'labels'>): Promise<PcrPolicyRecord[]>;
  /**
   * Adds an allowed value set. With `onlyIfNone` (trust on first use), atomically: only when the
   * policy has no value set of that scope yet (the policy's own, or this device's); false otherwise.
   */
  addPcrValues(values: PcrValuesRecord, onlyIfNone?: boolean): Promise<boolean>;
  /** False if the value set does not exist in that policy. */
  removePcrValues(policyId: string, valuesId: string, at: number): Promise<boolean>;

  appendAudit(entry: AuditInput): Promise<AuditRecord>;
  /** Records with id > `after`, oldest first, at most `limit`. */
  listAudit(options: { after?: number; limit: number; deviceId?: string }): Promise<AuditRecord[]>;

  close(): Promise<void>;
}

/** What else {@link BrokerStore.recordRelease} does in its commit. */
export interface ReleaseOptions {
  /** The device's id for this fetch (kept across its retries): counted once. */
  readonly requestId?: string;
  /** The request's single-use nonce, used in the same commit as the release (one commit per release). */
  readonly nonce?: { readonly nonce: string; readonly expiresAt: number };
}

/** What {@link BrokerStore.recordRelease} did. */
export type ReleaseOutcome =
  | { readonly ok: true; readonly grant: GrantRecord; readonly repeated?: boolean }
  | { readonly ok: false; readonly reason: 'releases_exhausted' | 'device_releases_exhausted' | 'replayed' };

/** A counted key release, by the device's request id. */
export interface ReleaseRequestRecord {
  readonly deviceId: string;
  readonly requestId: string;
  readonly grantId: string;
  readonly modelId: string;
  readonly at: number;
}

/** How long release request ids are kept (retries come within seconds). */
export const RELEASE_REQUEST_TTL_MS = 24 * 3600_000;

/** Why an enrolment is refused. */
export type EnrolmentRefusal =
  | 'invalid_token'
  | 'token_expired'
  | 'token_used_up'
  | 'token_revoked'
  | 'device_id_not_allowed'
  | 'device_exists'
  | 'key_revoked'
  | 'key_registered'
  | 'attestation_required'
  | 'ek_registered';

/** A sealed model version the broker can release keys for. */
export interface ModelRecord {
  /** `name@version`: one container per version, never replaced. */
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly containerId: string;
  readonly format: string;
  readonly createdAt: number;
  readonly notAfter: number | null;
  readonly entries: readonly { readonly name: string; readonly role: string; readonly size: number }[];
  /** Every stanza of the header (public material, shown to admins). */
  readonly stanzas: readonly WireStanza[];
  /**
   * The header area (the container's first `payloadOffset` bytes): key releases unwrap from it,
   * key commitment and MAC checked. Null for a model registered by an older broker (its file is
   * read instead).
   */
  readonly header: Uint8Array | null;
  readonly size: number;
  /** Hex SHA-256 of the whole container (its ETag); null when only the header was registered. */
  readonly sha256: string | null;
  readonly payloadDigest: string;
  readonly signatureKeyId: string | null;
  /** A file under the broker's data dir, or an external URL handed out to devices. */
  readonly storage: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'url'; readonly url: string };
  readonly registeredAt: number;
}

export interface DeviceRecord {
  readonly id: string;
  readonly keyType: DeviceKeyType;
  readonly publicKeyPem: string;
  /** Hex SHA-256 of the SPKI DER. */
  readonly keyId: string;
  readonly labels: readonly string[];
  readonly registeredAt: number;
  readonly revokedAt: number | null;
  readonly revokedReason: string | null;
}

/**
 * Who a grant is for: one device — bound to the key it had when granted, so another key enrolled
 * under that id later gets nothing — or every device carrying a label.
 */
export type GrantSubject =
  { readonly kind: 'device'; readonly value: string; readonly keyId: string } | { readonly kind: 'label'; readonly value: string };

export interface GrantRecord {
  readonly id: string;
  readonly subject: GrantSubject;
  readonly modelName: string;
  /** A pinned version, or null for every version of the model (devices get the latest registered). */
  readonly modelVersion: string | null;
  readonly notAfter: number;
  /** Key releases allowed under this grant, over every device it covers. */
  readonly maxReleases: number;
  readonly releases: number;
  /** Key releases allowed to each device under this grant (null: only `maxReleases` bounds them). */
  readonly maxReleasesPerDevice: number | null;
  /** Set by `grantsForDevice`: that device's releases under this grant. */
  readonly deviceReleases?: number;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface EnrolmentTokenRecord {
  readonly id: string;
  /** Hex SHA-256 of the token: the token itself is shown once and never stored. */
  readonly tokenHash: string;
  readonly labels: readonly string[];
  readonly expiresAt: number;
  readonly maxUses: number;
  readonly uses: number;
  /** The one device id this token enrols, or null. */
  readonly deviceId: string | null;
  /** A pattern of ids it enrols (`*` matches any run of id characters), or null. */
  readonly deviceIdPattern: string | null;
  /** Devices must enrol with an attestation key (EK, AK, credential challenge, quote). */
  readonly requireAttestation: boolean;
  /** Attested enrolment may go without an EK certificate (the EK is then taken on trust; audited). */
  readonly allowMissingEkCertificate: boolean;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** What an attested enrolment adds, written in the enrolment's transaction. */
export interface AttestedEnrolment {
  readonly attestation: DeviceAttestationRecord;
  /**
   * Trust on first use: value sets captured from the enrolment quote, each inserted only if its
   * scope has none yet (then its audit record is appended).
   */
  readonly captures: readonly { readonly values: PcrValuesRecord; readonly audit: AuditInput }[];
}

/** A device's TPM as attestation knows it. */
export interface DeviceAttestationRecord {
  readonly deviceId: string;
  /** TPM2B_PUBLIC of the endorsement key. */
  readonly ekPublic: Uint8Array;
  /** Hex name of the EK: one TPM, one device; revocation revokes it too. */
  readonly ekName: string;
  /** The EK certificate (DER), or null when enrolled without one. */
  readonly ekCertificate: Uint8Array | null;
  /** `certificate`: chained to a trusted manufacturer CA; `no-certificate`: allowed by the token (audited). */
  readonly ekVerification: 'certificate' | 'no-certificate';
  /** The certificate's issuer, for admins. */
  readonly ekIssuer: string | null;
  /** TPM2B_PUBLIC of the attestation key, proven in the EK's TPM by a credential challenge. */
  readonly akPublic: Uint8Array;
  readonly akName: string;
  readonly enrolledAt: number;
  /** Reset and restart counters of the last accepted quote: later quotes may not go below them. */
  readonly counters: { readonly resetCount: number; readonly restartCount: number } | null;
  readonly lastQuote: QuoteRecord | null;
  readonly lastRefused: QuoteRecord | null;
}

/** A verified quote, as kept and shown. */
export interface QuoteRecord {
  readonly at: number;
  /** The selection quoted, `sha256:0,7`. */
  readonly pcrs: string;
  /** PCR index → hex value. */
  readonly values: Readonly<Record<string, string>>;
  readonly clock: string;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
  readonly firmwareVersion: string;
  /** For a refused quote: the refusal code, and which PCRs differed. */
  readonly reason?: string;
  readonly mismatched?: readonly PcrMismatch[];
}

/** When an enrolment quote's values become allowed values of a policy. */
export type TofuMode = 'off' | 'first-device' | 'each-device';

/** Golden PCR values for a device group (label) or one device. */
export interface PcrPolicyRecord {
  readonly id: string;
  readonly subject: { readonly kind: 'device' | 'label'; readonly value: string };
  /** The PCRs it checks, `sha256:0,7`. */
  readonly pcrs: string;
  /** `first-device`: the first enrolment quote sets the policy's values; `each-device`: each enrolling device's quote sets its own. */
  readonly tofu: TofuMode;
  readonly note: string | null;
  readonly createdAt: number;
  readonly removedAt: number | null;
  /** Allowed value sets (several: an update rolls out); a quote matches when it equals one of them. */
  readonly values: readonly PcrValuesRecord[];
}

/** One allowed set of PCR values of a policy. */
export interface PcrValuesRecord {
  readonly id: string;
  readonly policyId: string;
  /** Null: for every device of the policy; else for this device only. */
  readonly deviceId: string | null;
  /** PCR index → hex value, for every PCR of the policy. */
  readonly values: Readonly<Record<string, string>>;
  /** `admin`: set by an admin; `tofu`: captured at enrolment; `accepted`: an admin accepted a device's refused quote. */
  readonly source: 'admin' | 'tofu' | 'accepted';
  readonly note: string | null;
  readonly addedAt: number;
  readonly removedAt: number | null;
}

export type AuditOutcome = 'ok' | 'refused' | 'error';

export interface AuditInput {
  readonly at: number;
  /** `admin`, `device:<id>`, `enrolment:<token id>`. */
  readonly actor: string;
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly deviceId?: string | null;
  readonly modelId?: string | null;
  readonly grantId?: string | null;
  /** A stable refusal code or a short description; never a secret. */
  readonly reason?: string | null;
  readonly remote?: string | null;
}

export interface AuditRecord extends Required<AuditInput> {
  readonly id: number;
}
