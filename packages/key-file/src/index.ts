export { generateKey } from './generate-key.js';
export { keyId } from './key-id.js';
export { readKeyFile } from './read-key-file.js';
export { writeKeyFile } from './write-key-file.js';
export { FileRecipient } from './file-recipient.js';
export { FileIdentity } from './file-identity.js';
export { KeyFileError } from './errors.js';
export type { KeyFileErrorCode } from './errors.js';
export { encodeKey, decodeKey, KEY_PREFIX } from './lib/key-text.js';
