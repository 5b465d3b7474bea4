export { startKmsLocal } from './start-kms-local.js';
export type { KmsLocal, KmsLocalOptions, KmsLocalPrincipal, KmsLocalKey, CreateKeyOptions } from './start-kms-local.js';
export { KMS_LOCAL_DEFAULTS } from './defaults.js';
export type { KmsLocalFault, KmsLocalFaults, FaultScope } from './lib/faults.js';
export type { KmsLocalRequest } from './lib/request-handler.js';
