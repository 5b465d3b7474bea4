export { KmsRecipient } from './kms-recipient.js';
export { KmsIdentity } from './kms-identity.js';
export { KmsDiscoveryIdentity } from './kms-discovery-identity.js';
export { kmsRecipientFromUri } from './kms-recipient-from-uri.js';
export { kmsIdentityFromUri } from './kms-identity-from-uri.js';
export { KmsError } from './errors.js';
export type { KmsErrorCode } from './errors.js';
export { KMS_STANZA_TYPE } from './stanza-type.js';
export type { KmsClientOptions, KmsIdentityOptions, KmsCacheOptions, KmsDiscoveryFilter } from './options.js';
