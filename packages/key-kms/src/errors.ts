import { OvsealError } from '@ovseal/container';

/** Codes of the errors thrown by `@ovseal/key-kms`. */
export type KmsErrorCode =
  /** The credentials are unknown or not allowed to use the key (key policy, IAM, bad signature). */
  | 'ERR_KMS_ACCESS_DENIED'
  /** The key is disabled. */
  | 'ERR_KMS_KEY_DISABLED'
  /** The key is pending deletion (or otherwise unusable: pending import, unavailable). */
  | 'ERR_KMS_KEY_INVALID_STATE'
  /** No such key or alias in that account and region. */
  | 'ERR_KMS_KEY_NOT_FOUND'
  /** The key cannot do this: a symmetric key asked to sign, a signing key asked to encrypt, another key spec. */
  | 'ERR_KMS_KEY_UNSUITABLE'
  /** KMS refused the wrapped key: altered, made under another key, or for another encryption context. */
  | 'ERR_KMS_INVALID_CIPHERTEXT'
  /** KMS kept throttling the request after the retries. */
  | 'ERR_KMS_THROTTLED'
  /** No connection to KMS (refused, reset, DNS, network). */
  | 'ERR_KMS_UNREACHABLE'
  /** KMS did not answer within the timeout or the deadline. */
  | 'ERR_KMS_TIMEOUT'
  /** KMS answered 5xx after the retries. */
  | 'ERR_KMS_SERVICE_ERROR'
  /** The client could not be set up: no region, no credentials found. */
  | 'ERR_KMS_CONFIG'
  /** KMS answered something ovseal does not accept (another key than the one pinned, no blob). */
  | 'ERR_KMS_UNEXPECTED_RESPONSE'
  /** Any other KMS error (the SDK's error name is in `kmsErrorName`). */
  | 'ERR_KMS_REQUEST_FAILED';

/**
 * A KMS call failed. `code` says what to do about it; `kmsErrorName` keeps the SDK's error name
 * (`AccessDeniedException`, `TimeoutError`, …) and `cause` the SDK error itself.
 *
 * @example
 * ```ts
 * try {
 *   await open('model.ovseal', { identities: [identity] });
 * } catch (error) {
 *   if (error instanceof KmsError && error.code === 'ERR_KMS_THROTTLED') await later();
 * }
 * ```
 */
export class KmsError extends OvsealError {
  declare readonly code: KmsErrorCode;
  /** The KMS operation: `Encrypt`, `Decrypt`, `DescribeKey`, `GetPublicKey`, `Sign`. */
  readonly operation: string;
  /** The key the call was about, as given or recorded. */
  readonly keyId: string | undefined;
  /** The SDK error name, when the SDK raised one. */
  readonly kmsErrorName: string | undefined;
  readonly httpStatusCode: number | undefined;
  readonly requestId: string | undefined;

  constructor(
    code: KmsErrorCode,
    message: string,
    details: {
      operation: string;
      keyId?: string | undefined;
      kmsErrorName?: string | undefined;
      httpStatusCode?: number | undefined;
      requestId?: string | undefined;
      cause?: unknown;
      hint?: string | undefined;
    },
  ) {
    super(code, message, { cause: details.cause, ...(details.hint === undefined ? {} : { hint: details.hint }) });
    this.operation = details.operation;
    this.keyId = details.keyId;
    this.kmsErrorName = details.kmsErrorName;
    this.httpStatusCode = details.httpStatusCode;
    this.requestId = details.requestId;
  }
}
