export { readEnvKey } from './read-env-key.js';
export { EnvRecipient } from './env-recipient.js';
export { EnvIdentity } from './env-identity.js';
