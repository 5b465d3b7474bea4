export { startKeyBroker } from './start-key-broker.js';
export type { KeyBrokerOptions, KeyBroker, RateLimit, Logger } from './start-key-broker.js';
export { SqliteBrokerStore } from './sqlite-broker-store.js';
export type { SqliteBrokerStoreOptions } from './sqlite-broker-store.js';
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
} from './store.js';
export { BrokerError } from './errors.js';
export type { BrokerErrorCode } from './errors.js';
export type { WireStanza, ChallengeResponse, DeviceModel, DeviceModelList, KeyReleaseResponse, BrokerErrorBody } from './protocol/types.js';
