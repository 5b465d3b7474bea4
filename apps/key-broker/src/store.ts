import type { DeviceKeyType } from '@ovseal/key-tpm';
import type { WireStanza } from './protocol/types.js';

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
   * meanwhile (or another broker did).
   */
  recordRelease(grantId: string, deviceId: string, now: number, audit: AuditInput): Promise<{ ok: true; grant: GrantRecord } | { ok: false; reason: 'releases_exhausted' | 'device_releases_exhausted' }>;

  /** Atomic: false if the nonce was already used (a replay). */
  useNonce(nonce: string, deviceId: string, expiresAt: number): Promise<boolean>;
  /** Drops used nonces that expired (they are refused on their time anyway). */
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
  enrolDevice(tokenHash: string, device: DeviceRecord, now: number, audit: AuditInput): Promise<{ ok: true; device: DeviceRecord } | { ok: false; reason: EnrolmentRefusal }>;

  appendAudit(entry: AuditInput): Promise<AuditRecord>;
  /** Records with id > `after`, oldest first, at most `limit`. */
  listAudit(options: { after?: number; limit: number; deviceId?: string }): Promise<AuditRecord[]>;

  close(): Promise<void>;
}

/** Why an enrolment is refused. */
export type EnrolmentRefusal =
  | 'invalid_token'
  | 'token_expired'
  | 'token_used_up'
  | 'token_revoked'
  | 'device_id_not_allowed'
  | 'device_exists'
  | 'key_revoked'
  | 'key_registered';

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
export type GrantSubject = { readonly kind: 'device'; readonly value: string; readonly keyId: string } | { readonly kind: 'label'; readonly value: string };

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
  readonly createdAt: number;
  readonly revokedAt: number | null;
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
