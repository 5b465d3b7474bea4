import type { PKCS11 } from 'pkcs11js';
import type { FoundKey } from './objects.js';
import { rsaPublicKey } from './objects.js';
import { checkRfc5649Length, wrapInToken } from './in-token.js';
import { KEK_CHECK, kekIdFromCheck, rsaKeyId } from './wire.js';
import type { Mechanism } from 'pkcs11js';
import { CKK_AES, CKK_RSA, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY } from './ck.js';

type Handle = Buffer;

export type WrapKind = 'aes-kwp' | 'rsa-oaep';

/** What a key can wrap with: an AES secret key (KWP) or an RSA key pair (OAEP); undefined otherwise. */
export function wrapKindOf(key: FoundKey): WrapKind | undefined {
  if (key.objectClass === CKO_SECRET_KEY && key.keyType === CKK_AES) return 'aes-kwp';
  if ((key.objectClass === CKO_PUBLIC_KEY || key.objectClass === CKO_PRIVATE_KEY) && key.keyType === CKK_RSA) return 'rsa-oaep';
  return undefined;
}

/** The stanza key id of an AES key: computed in the token from its wrap of a fixed value. */
export async function aesKekId(api: PKCS11, session: Handle, mechanism: Mechanism, key: Handle): Promise<string> {
  const wrapped = await wrapInToken(api, session, mechanism, key, Buffer.from(KEK_CHECK));
  checkRfc5649Length(wrapped, KEK_CHECK.length);
  return kekIdFromCheck(wrapped);
}

/** The stanza key id of an RSA key: from its modulus and exponent, no token operation. */
export function rsaKekId(api: PKCS11, session: Handle, key: Handle): string {
  return rsaKeyId(rsaPublicKey(api, session, key));
}
