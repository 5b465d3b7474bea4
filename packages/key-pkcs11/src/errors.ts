import { OvsealError } from '@ovseal/container';

/**
 * Codes of the errors thrown by `@ovseal/key-pkcs11`.
 *
 * - `ERR_PKCS11_MODULE`: the PKCS#11 module (the `.so`) cannot be found, loaded or initialised.
 * - `ERR_PKCS11_TOKEN_NOT_FOUND`: no token (or slot) matches the URI, or it was removed.
 * - `ERR_PKCS11_OBJECT_NOT_FOUND`: no key matches the URI in that token (deleted, wrong label or id,
 *   or a private object looked up without a PIN).
 * - `ERR_PKCS11_AMBIGUOUS`: several tokens or keys match where one is needed: add `id=` or `serial=`.
 * - `ERR_PKCS11_PIN_REQUIRED`: the token needs a login and no PIN was given.
 * - `ERR_PKCS11_PIN_INCORRECT`: the token refused the PIN.
 * - `ERR_PKCS11_TOKEN_LOCKED`: the token refuses user logins: PIN locked (too many wrong PINs),
 *   expired, or never initialised.
 * - `ERR_PKCS11_KEY_UNSUITABLE`: the key cannot do what is asked (type, usage attributes, or a
 *   mechanism the token does not support).
 * - `ERR_PKCS11_DEVICE`: the device failed or went away during an operation.
 * - `ERR_PKCS11_FAILED`: any other PKCS#11 return value (its name is in `ckr`).
 */
export type Pkcs11ErrorCode =
  | 'ERR_PKCS11_MODULE'
  | 'ERR_PKCS11_TOKEN_NOT_FOUND'
  | 'ERR_PKCS11_OBJECT_NOT_FOUND'
  | 'ERR_PKCS11_AMBIGUOUS'
  | 'ERR_PKCS11_PIN_REQUIRED'
  | 'ERR_PKCS11_PIN_INCORRECT'
  | 'ERR_PKCS11_TOKEN_LOCKED'
  | 'ERR_PKCS11_KEY_UNSUITABLE'
  | 'ERR_PKCS11_DEVICE'
  | 'ERR_PKCS11_FAILED';

/**
 * A PKCS#11 failure. `ckr` is the PKCS#11 return value's name (`CKR_PIN_INCORRECT`) when the token
 * gave one, and `operation` the PKCS#11 function (`C_Login`).
 *
 * A stanza of this token's key that does not unwrap (altered, or moved from another container) is
 * not a `Pkcs11Error` but the container's opaque `AuthenticationFailedError`, as for every provider.
 *
 * @example
 * ```ts
 * try {
 *   await Pkcs11Signer.open('pkcs11:token=ci;object=publisher?pin-source=env:HSM_PIN');
 * } catch (error) {
 *   if (error instanceof Pkcs11Error && error.code === 'ERR_PKCS11_PIN_INCORRECT') process.exit(7);
 * }
 * ```
 */
export class Pkcs11Error extends OvsealError {
  declare readonly code: Pkcs11ErrorCode;
  readonly ckr?: string;
  readonly operation?: string;

  constructor(code: Pkcs11ErrorCode, message: string, options?: { cause?: unknown; hint?: string; ckr?: string; operation?: string }) {
    super(code, message, options);
    if (options?.ckr !== undefined) this.ckr = options.ckr;
    if (options?.operation !== undefined) this.operation = options.operation;
  }
}
