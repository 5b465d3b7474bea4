export { startKeyBroker } from './start-key-broker.js';
export type { KeyBrokerOptions, KeyBroker, RateLimit, Logger, AttestationOptions } from './start-key-broker.js';
export { SqliteBrokerStore } from './sqlite-broker-store.js';
export type { SqliteBrokerStoreOptions } from './sqlite-broker-store.js';
export { PostgresBrokerStore } from './postgres-broker-store.js';
export type { PostgresBrokerStoreOptions } from './postgres-broker-store.js';
export type {
  BrokerStore,
  ModelRecord,
  DeviceRecord,
  GrantRecord,
  GrantSubject,
  EnrolmentTokenRecord,
  EnrolmentRefusal,
  AuditInput,
  AuditRecord,
  AuditOutcome,
  AttestedEnrolment,
  DeviceAttestationRecord,
  QuoteRecord,
  TofuMode,
  PcrPolicyRecord,
  PcrValuesRecord,
  ReleaseOutcome,
  ReleaseRequestRecord,
} from './store.js';
export { BrokerError } from './errors.js';
export type { BrokerErrorCode } from './errors.js';
// The wire types live in @ovseal/broker-protocol (what devices import, without this server).
export type {
  WireStanza,
  ChallengeResponse,
  DeviceModel,
  DeviceModelList,
  KeyReleaseResponse,
  BrokerErrorBody,
  AttestRequest,
  WireQuote,
  KeyReleaseRequest,
  EnrolAttestation,
  EnrolRequest,
  ActivationChallenge,
  PcrMismatch,
} from '@ovseal/broker-protocol';
