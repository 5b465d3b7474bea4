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
  /** False if the device does not exist. Revoking twice keeps the first time. */
  revokeDevice(id: string, at: number, reason: string): Promise<boolean>;

  insertGrant(grant: GrantRecord): Promise<void>;
  getGrant(id: string): Promise<GrantRecord | undefined>;
  listGrants(): Promise<GrantRecord[]>;
  revokeGrant(id: string, at: number): Promise<boolean>;
  /** Grants whose subject is this device or one of its labels (any state). */
  grantsForDevice(device: DeviceRecord): Promise<GrantRecord[]>;

  /**
   * Atomic: re-checks that the grant is usable at `now` (not revoked, not expired, releases left),
   * adds one release and appends the audit record. Refused (false) when another release took the
   * last one meanwhile (or another broker did).
   */
  recordRelease(grantId: string, now: number, audit: AuditInput): Promise<{ ok: true; grant: GrantRecord } | { ok: false }>;

  /** Atomic: false if the nonce was already used (a replay). */
  useNonce(nonce: string, deviceId: string, expiresAt: number): Promise<boolean>;
  /** Drops used nonces that expired (they are refused on their time anyway). */
  purgeNonces(now: number): Promise<number>;

  insertEnrolmentToken(token: EnrolmentTokenRecord): Promise<void>;
  /**
   * Atomic: checks the token (by hash) is unexpired with uses left, counts a use, inserts the
   * device with the token's labels and appends the audit record. The reason on refusal.
   */
  enrolDevice(tokenHash: string, device: DeviceRecord, now: number, audit: AuditInput): Promise<{ ok: true; device: DeviceRecord } | { ok: false; reason: 'invalid_token' | 'token_expired' | 'token_used_up' | 'device_exists' }>;

  appendAudit(entry: AuditInput): Promise<AuditRecord>;
  /** Records with id > `after`, oldest first, at most `limit`. */
  listAudit(options: { after?: number; limit: number; deviceId?: string }): Promise<AuditRecord[]>;

  close(): Promise<void>;
}

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
  /** Every stanza of the header (public material); the broker's identities unwrap one of them. */
  readonly stanzas: readonly WireStanza[];
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

/** Who a grant is for: one device, or every device carrying a label. */
export type GrantSubject = { readonly kind: 'device'; readonly value: string } | { readonly kind: 'label'; readonly value: string };

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
  readonly createdAt: number;
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
