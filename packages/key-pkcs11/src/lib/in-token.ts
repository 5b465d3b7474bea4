import { AuthenticationFailedError } from '@ovseal/container';
import type { Mechanism, PKCS11 } from 'pkcs11js';
import { Pkcs11Error } from '../errors.js';
import {
  CK_PARAMS_RSA_OAEP,
  CKA_CLASS,
  CKA_EXTRACTABLE,
  CKA_KEY_TYPE,
  CKA_SENSITIVE,
  CKA_TOKEN,
  CKA_VALUE,
  CKG_MGF1_SHA1,
  CKG_MGF1_SHA256,
  CKK_GENERIC_SECRET,
  CKM_AES_KEY_WRAP_KWP,
  CKM_AES_KEY_WRAP_PAD,
  CKM_RSA_PKCS_OAEP,
  CKM_SHA_1,
  CKM_SHA256,
  CKO_SECRET_KEY,
  CKZ_DATA_SPECIFIED,
} from './ck.js';
import { attribute } from './objects.js';
import { ckrOf } from './to-pkcs11-error.js';
import type { OaepHash } from './wire.js';

type Handle = Buffer;

/** A value to wrap, or one unwrapped, lives in the token as a session object for one call only. */
const TRANSIENT_SECRET = [
  { type: CKA_CLASS, value: CKO_SECRET_KEY },
  { type: CKA_KEY_TYPE, value: CKK_GENERIC_SECRET },
  { type: CKA_TOKEN, value: false },
  { type: CKA_SENSITIVE, value: false },
  { type: CKA_EXTRACTABLE, value: true },
];

/** Wraps `value` under `wrappingKey` inside the token (C_WrapKey of a transient session object). */
export async function wrapInToken(api: PKCS11, session: Handle, mechanism: Mechanism, wrappingKey: Handle, value: Buffer): Promise<Buffer> {
  const transient = api.C_CreateObject(session, [...TRANSIENT_SECRET, { type: CKA_VALUE, value }]);
  try {
    return Buffer.from(await api.C_WrapKeyAsync(session, mechanism, wrappingKey, transient, Buffer.alloc(2048)));
  } finally {
    api.C_DestroyObject(session, transient);
  }
}

/** Return values by which tokens say "this wrapped key does not decrypt" (SoftHSM: a general error). */
const NOT_AUTHENTIC = new Set([
  'CKR_WRAPPED_KEY_INVALID',
  'CKR_WRAPPED_KEY_LEN_RANGE',
  'CKR_ENCRYPTED_DATA_INVALID',
  'CKR_ENCRYPTED_DATA_LEN_RANGE',
  'CKR_GENERAL_ERROR',
]);

/**
 * Unwraps inside the token into a transient session object and reads its value back. A wrapped
 * value the token refuses as such is the container's opaque authentication failure.
 */
export async function unwrapInToken(
  api: PKCS11,
  session: Handle,
  mechanism: Mechanism,
  unwrappingKey: Handle,
  wrapped: Buffer,
): Promise<Buffer> {
  let transient: Handle;
  try {
    transient = await api.C_UnwrapKeyAsync(session, mechanism, unwrappingKey, wrapped, TRANSIENT_SECRET);
  } catch (error) {
    if (NOT_AUTHENTIC.has(ckrOf(error) ?? '')) throw new AuthenticationFailedError();
    throw error;
  }
  try {
    return attribute(api, session, transient, CKA_VALUE);
  } finally {
    api.C_DestroyObject(session, transient);
  }
}

/**
 * RFC 5649 AES key wrap with padding: PKCS#11 v3.0 calls it CKM_AES_KEY_WRAP_KWP; v2.40 tokens
 * (SoftHSM among them) offer it as CKM_AES_KEY_WRAP_PAD. Callers check the output length, which
 * tells RFC 5649 from the PKCS#7-padded variant some tokens implement under the v2.40 number.
 */
export function kwpMechanism(api: PKCS11, slot: Handle): Mechanism {
  const mechanisms = api.C_GetMechanismList(slot);
  if (mechanisms.includes(CKM_AES_KEY_WRAP_KWP)) return { mechanism: CKM_AES_KEY_WRAP_KWP };
  if (mechanisms.includes(CKM_AES_KEY_WRAP_PAD)) return { mechanism: CKM_AES_KEY_WRAP_PAD };
  throw new Pkcs11Error('ERR_PKCS11_KEY_UNSUITABLE', 'the token has no AES key wrap with padding (CKM_AES_KEY_WRAP_KWP)', {
    hint: 'use an RSA key of the token instead (stanza pkcs11-rsa-oaep)',
  });
}

export function checkRfc5649Length(wrapped: Buffer, plainLength: number): void {
  if (wrapped.length !== plainLength + 8) {
    throw new Pkcs11Error(
      'ERR_PKCS11_KEY_UNSUITABLE',
      `the token's AES key wrap with padding is not RFC 5649 (${wrapped.length} bytes for ${plainLength})`,
      {
        hint: 'use an RSA key of the token instead (stanza pkcs11-rsa-oaep)',
      },
    );
  }
}

export function oaepMechanism(hash: OaepHash): Mechanism {
  return {
    mechanism: CKM_RSA_PKCS_OAEP,
    parameter: {
      type: CK_PARAMS_RSA_OAEP,
      hashAlg: hash === 'sha256' ? CKM_SHA256 : CKM_SHA_1,
      mgf: hash === 'sha256' ? CKG_MGF1_SHA256 : CKG_MGF1_SHA1,
      source: CKZ_DATA_SPECIFIED,
    },
  } as Mechanism;
}
