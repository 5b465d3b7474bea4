import type { AuditRecord, DeviceRecord, EnrolmentTokenRecord, GrantRecord, ModelRecord } from '../store.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** What the admin API shows of a model (the stanzas are summarised: types and arguments). */
export function modelView(model: ModelRecord) {
  return {
    id: model.id,
    name: model.name,
    version: model.version,
    containerId: model.containerId,
    format: model.format,
    createdAt: iso(model.createdAt),
    notAfter: iso(model.notAfter),
    entries: model.entries,
    recipients: model.stanzas.map((stanza) => ({ type: stanza.type, args: stanza.args })),
    size: model.size,
    sha256: model.sha256,
    payloadDigest: model.payloadDigest,
    signatureKeyId: model.signatureKeyId,
    storage: model.storage.kind === 'file' ? { kind: 'file' } : model.storage,
    registeredAt: iso(model.registeredAt),
  };
}

export function deviceView(device: DeviceRecord) {
  return {
    id: device.id,
    keyType: device.keyType,
    keyId: device.keyId,
    publicKeyPem: device.publicKeyPem,
    labels: device.labels,
    registeredAt: iso(device.registeredAt),
    revokedAt: iso(device.revokedAt),
    revokedReason: device.revokedReason,
  };
}

export function grantView(grant: GrantRecord) {
  return {
    id: grant.id,
    subject: grant.subject,
    model: grant.modelName,
    version: grant.modelVersion,
    notAfter: iso(grant.notAfter),
    maxReleases: grant.maxReleases,
    releases: grant.releases,
    maxReleasesPerDevice: grant.maxReleasesPerDevice,
    createdAt: iso(grant.createdAt),
    revokedAt: iso(grant.revokedAt),
  };
}

/** An enrolment token as admins see it: never the token, nor its hash. */
export function enrolmentTokenView(token: EnrolmentTokenRecord) {
  return {
    id: token.id,
    labels: token.labels,
    expiresAt: iso(token.expiresAt),
    maxUses: token.maxUses,
    uses: token.uses,
    deviceId: token.deviceId,
    deviceIdPattern: token.deviceIdPattern,
    requireAttestation: token.requireAttestation,
    allowMissingEkCertificate: token.allowMissingEkCertificate,
    createdAt: iso(token.createdAt),
    revokedAt: iso(token.revokedAt),
  };
}

export function auditView(record: AuditRecord) {
  return { ...record, at: iso(record.at) };
}
