import { KmsError, type KmsErrorCode } from '../errors.js';

const BY_NAME: Readonly<Record<string, KmsErrorCode>> = {
  AccessDeniedException: 'ERR_KMS_ACCESS_DENIED',
  UnrecognizedClientException: 'ERR_KMS_ACCESS_DENIED',
  InvalidSignatureException: 'ERR_KMS_ACCESS_DENIED',
  IncompleteSignatureException: 'ERR_KMS_ACCESS_DENIED',
  MissingAuthenticationTokenException: 'ERR_KMS_ACCESS_DENIED',
  ExpiredTokenException: 'ERR_KMS_ACCESS_DENIED',
  DisabledException: 'ERR_KMS_KEY_DISABLED',
  KMSInvalidStateException: 'ERR_KMS_KEY_INVALID_STATE',
  KeyUnavailableException: 'ERR_KMS_KEY_INVALID_STATE',
  NotFoundException: 'ERR_KMS_KEY_NOT_FOUND',
  InvalidArnException: 'ERR_KMS_KEY_NOT_FOUND',
  InvalidKeyUsageException: 'ERR_KMS_KEY_UNSUITABLE',
  UnsupportedOperationException: 'ERR_KMS_KEY_UNSUITABLE',
  InvalidCiphertextException: 'ERR_KMS_INVALID_CIPHERTEXT',
  IncorrectKeyException: 'ERR_KMS_INVALID_CIPHERTEXT',
  ThrottlingException: 'ERR_KMS_THROTTLED',
  LimitExceededException: 'ERR_KMS_THROTTLED',
  TimeoutError: 'ERR_KMS_TIMEOUT',
  AbortError: 'ERR_KMS_TIMEOUT',
  KMSInternalException: 'ERR_KMS_SERVICE_ERROR',
  DependencyTimeoutException: 'ERR_KMS_SERVICE_ERROR',
  CredentialsProviderError: 'ERR_KMS_CONFIG',
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

const WHAT: Readonly<Record<KmsErrorCode, string>> = {
  ERR_KMS_ACCESS_DENIED: 'access denied',
  ERR_KMS_KEY_DISABLED: 'the key is disabled',
  ERR_KMS_KEY_INVALID_STATE: 'the key cannot be used in its current state',
  ERR_KMS_KEY_NOT_FOUND: 'key not found',
  ERR_KMS_KEY_UNSUITABLE: 'the key cannot do this',
  ERR_KMS_INVALID_CIPHERTEXT: 'the wrapped key was refused (altered, another key, or another container)',
  ERR_KMS_THROTTLED: 'throttled by KMS',
  ERR_KMS_UNREACHABLE: 'KMS is unreachable',
  ERR_KMS_TIMEOUT: 'KMS did not answer in time',
  ERR_KMS_SERVICE_ERROR: 'KMS failed',
  ERR_KMS_CONFIG: 'the KMS client is not configured',
  ERR_KMS_UNEXPECTED_RESPONSE: 'unexpected answer from KMS',
  ERR_KMS_REQUEST_FAILED: 'the request failed',
};

const HINTS: Partial<Record<KmsErrorCode, string>> = {
  ERR_KMS_ACCESS_DENIED: 'check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID…) and that the key policy lets them use this key',
  ERR_KMS_KEY_DISABLED: 'enable the key (aws kms enable-key) or open the container with another recipient',
  ERR_KMS_KEY_INVALID_STATE: 'a key pending deletion can be recovered with `aws kms cancel-key-deletion` (then enable it)',
  ERR_KMS_KEY_NOT_FOUND: 'check the key id, the account and the region (AWS_REGION)',
  ERR_KMS_KEY_UNSUITABLE:
    'publisher signatures need an ECC_NIST_P256 SIGN_VERIFY key (aws kms create-key --key-spec ECC_NIST_P256 --key-usage SIGN_VERIFY); recipients need a SYMMETRIC_DEFAULT key',
  ERR_KMS_INVALID_CIPHERTEXT: 'the stanza does not belong to this container or was altered',
  ERR_KMS_THROTTLED: 'retry later, lower the request rate, or enable the data-key cache',
  ERR_KMS_UNREACHABLE: 'check the network and the endpoint (AWS_ENDPOINT_URL_KMS)',
  ERR_KMS_TIMEOUT: 'check the network, or raise timeoutMs / deadlineMs',
  ERR_KMS_SERVICE_ERROR: 'retry later',
  ERR_KMS_CONFIG: 'set AWS_REGION (or use a key ARN) and provide credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID…)',
};

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** Maps any failure of an SDK call to a typed {@link KmsError}. */
export function toKmsError(error: unknown, operation: string, keyId: string | undefined): KmsError {
  if (error instanceof KmsError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const code = classify(shape);
  const name = shape.name && shape.name !== 'Error' ? shape.name : shape.code;
  const detail = [name, shape.message].filter(Boolean).join(': ');
  return new KmsError(code, `KMS ${operation}${keyId ? ` (${keyId})` : ''}: ${WHAT[code]}${detail ? ` — ${detail}` : ''}`, {
    operation,
    keyId,
    kmsErrorName: name,
    httpStatusCode: shape.$metadata?.httpStatusCode,
    requestId: shape.$metadata?.requestId,
    cause: error,
    hint: HINTS[code],
  });
}

/** A response KMS should never give (defence against a misbehaving endpoint). */
export function unexpectedResponse(operation: string, keyId: string, message: string): KmsError {
  return new KmsError('ERR_KMS_UNEXPECTED_RESPONSE', `KMS ${operation} (${keyId}): ${WHAT.ERR_KMS_UNEXPECTED_RESPONSE} — ${message}`, {
    operation,
    keyId,
  });
}

function classify(error: SdkErrorShape, depth = 0): KmsErrorCode {
  const byName = error.name === undefined ? undefined : BY_NAME[error.name];
  if (byName) return byName;
  if (error.code === 'ETIMEDOUT') return 'ERR_KMS_TIMEOUT';
  if (error.code !== undefined && NETWORK_CODES.has(error.code)) return 'ERR_KMS_UNREACHABLE';
  const status = error.$metadata?.httpStatusCode;
  if (status === 429) return 'ERR_KMS_THROTTLED';
  if (status !== undefined && status >= 500) return 'ERR_KMS_SERVICE_ERROR';
  if (/region is missing|could not load credentials/i.test(error.message ?? '')) return 'ERR_KMS_CONFIG';
  if (typeof error.cause === 'object' && error.cause !== null && depth < 5) {
    const fromCause = classify(error.cause, depth + 1);
    if (fromCause !== 'ERR_KMS_REQUEST_FAILED') return fromCause;
  }
  return 'ERR_KMS_REQUEST_FAILED';
}
