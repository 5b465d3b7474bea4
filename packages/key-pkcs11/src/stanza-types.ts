import { AES_KWP_STANZA, RSA_OAEP_STANZA } from './lib/wire.js';

/** The stanza types this package writes and reads (docs/FORMAT.md §5.3). */
export const PKCS11_STANZA_TYPES = Object.freeze({ aesKwp: AES_KWP_STANZA, rsaOaep: RSA_OAEP_STANZA } as const);
