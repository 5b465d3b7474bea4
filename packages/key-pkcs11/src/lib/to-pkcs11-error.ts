import { Pkcs11Error, type Pkcs11ErrorCode } from '../errors.js';

const BY_CKR: Readonly<Record<string, Pkcs11ErrorCode>> = {
  CKR_PIN_INCORRECT: 'ERR_PKCS11_PIN_INCORRECT',
  CKR_PIN_INVALID: 'ERR_PKCS11_PIN_INCORRECT',
  CKR_PIN_LEN_RANGE: 'ERR_PKCS11_PIN_INCORRECT',
  CKR_PIN_LOCKED: 'ERR_PKCS11_TOKEN_LOCKED',
  CKR_PIN_EXPIRED: 'ERR_PKCS11_TOKEN_LOCKED',
  CKR_USER_PIN_NOT_INITIALIZED: 'ERR_PKCS11_TOKEN_LOCKED',
  CKR_USER_NOT_LOGGED_IN: 'ERR_PKCS11_PIN_REQUIRED',
  CKR_TOKEN_NOT_PRESENT: 'ERR_PKCS11_TOKEN_NOT_FOUND',
  CKR_TOKEN_NOT_RECOGNIZED: 'ERR_PKCS11_TOKEN_NOT_FOUND',
  CKR_SLOT_ID_INVALID: 'ERR_PKCS11_TOKEN_NOT_FOUND',
  CKR_OBJECT_HANDLE_INVALID: 'ERR_PKCS11_OBJECT_NOT_FOUND',
  CKR_KEY_HANDLE_INVALID: 'ERR_PKCS11_OBJECT_NOT_FOUND',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'ERR_PKCS11_KEY_UNSUITABLE',
  CKR_KEY_TYPE_INCONSISTENT: 'ERR_PKCS11_KEY_UNSUITABLE',
  CKR_KEY_NOT_WRAPPABLE: 'ERR_PKCS11_KEY_UNSUITABLE',
  CKR_KEY_UNEXTRACTABLE: 'ERR_PKCS11_KEY_UNSUITABLE',
  CKR_KEY_SIZE_RANGE: 'ERR_PKCS11_KEY_UNSUITABLE',
  CKR_MECHANISM_INVALID: 'ERR_PKCS11_KEY_UNSUITABLE',
  CKR_MECHANISM_PARAM_INVALID: 'ERR_PKCS11_KEY_UNSUITABLE',
  CKR_WRAPPING_KEY_HANDLE_INVALID: 'ERR_PKCS11_OBJECT_NOT_FOUND',
  CKR_WRAPPING_KEY_TYPE_INCONSISTENT: 'ERR_PKCS11_KEY_UNSUITABLE',
  CKR_UNWRAPPING_KEY_HANDLE_INVALID: 'ERR_PKCS11_OBJECT_NOT_FOUND',
  CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT: 'ERR_PKCS11_KEY_UNSUITABLE',
  CKR_DEVICE_ERROR: 'ERR_PKCS11_DEVICE',
  CKR_DEVICE_MEMORY: 'ERR_PKCS11_DEVICE',
  CKR_DEVICE_REMOVED: 'ERR_PKCS11_DEVICE',
  CKR_SESSION_CLOSED: 'ERR_PKCS11_DEVICE',
  CKR_SESSION_HANDLE_INVALID: 'ERR_PKCS11_DEVICE',
  CKR_CRYPTOKI_NOT_INITIALIZED: 'ERR_PKCS11_MODULE',
};

const HINTS: Partial<Record<Pkcs11ErrorCode, string>> = {
  ERR_PKCS11_PIN_INCORRECT: 'check the PIN (pin-source=file:PATH or env:NAME); repeated wrong PINs can lock the token',
  ERR_PKCS11_TOKEN_LOCKED: 'the security officer must unlock or initialise the user PIN (e.g. pkcs11-tool --init-pin / softhsm2-util)',
  ERR_PKCS11_PIN_REQUIRED: 'add pin-source=file:PATH or pin-source=env:NAME to the pkcs11: URI',
  ERR_PKCS11_TOKEN_NOT_FOUND: 'list the tokens with `pkcs11-tool --module MODULE --list-token-slots`',
  ERR_PKCS11_OBJECT_NOT_FOUND: 'list the keys with `pkcs11-tool --module MODULE --login --list-objects`',
  ERR_PKCS11_KEY_UNSUITABLE: 'check the key type and its usage attributes (CKA_WRAP/CKA_UNWRAP, CKA_SIGN)',
  ERR_PKCS11_DEVICE: 'check that the token is connected, then retry',
};

/** A PKCS#11 return value's name, as pkcs11js reports it (`CKR_PIN_INCORRECT`), if the error carries one. */
export function ckrOf(error: unknown): string | undefined {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /^CKR_[A-Z0-9_]+$/.test(message) ? message : undefined;
}

/** Maps a pkcs11js failure to a typed {@link Pkcs11Error}; an error that is one already passes through. */
export function toPkcs11Error(error: unknown, operation: string, what: string): Pkcs11Error {
  if (error instanceof Pkcs11Error) return error;
  const ckr = ckrOf(error);
  const code: Pkcs11ErrorCode = (ckr === undefined ? undefined : BY_CKR[ckr]) ?? 'ERR_PKCS11_FAILED';
  const detail = ckr ?? (error instanceof Error ? error.message : String(error));
  const hint = HINTS[code];
  return new Pkcs11Error(code, `PKCS#11 ${operation} (${what}): ${detail}`, {
    cause: error,
    operation,
    ...(ckr === undefined ? {} : { ckr }),
    ...(hint === undefined ? {} : { hint }),
  });
}
