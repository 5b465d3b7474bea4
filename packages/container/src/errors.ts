/**
 * Every error ovseal throws is an {@link OvsealError} with a machine-readable `code`.
 *
 * Parse errors carry a specific message. Every decryption or MAC failure carries the same opaque
 * message ({@link AuthenticationFailedError}), so an attacker learns nothing from which check failed.
 */

/** Codes of the errors thrown by `@ovseal/container`. Providers add their own codes. */
export type ContainerErrorCode =
  | 'ERR_MALFORMED_HEADER'
  | 'ERR_UNSUPPORTED_VERSION'
  | 'ERR_LIMIT_EXCEEDED'
  | 'ERR_NO_MATCHING_KEY'
  | 'ERR_AUTHENTICATION_FAILED'
  | 'ERR_TRUNCATED'
  | 'ERR_SIGNATURE_MISSING'
  | 'ERR_SIGNATURE_INVALID'
  | 'ERR_SIGNATURE_UNTRUSTED'
  | 'ERR_EXPIRED'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_ENTRY_NOT_FOUND'
  | 'ERR_IO'
  | 'ERR_ABORTED'
  | 'ERR_DISPOSED';

/** Base class of every ovseal error. `code` is stable; messages may change. */
export class OvsealError extends Error {
  readonly code: string;
  /** A suggestion for the user, where one exists (the CLI prints it as `ovseal: hint: …`). */
  readonly hint?: string;

  constructor(code: string, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options?.hint !== undefined) this.hint = options.hint;
  }
}

/** The header cannot be parsed: wrong magic, a field out of range, trailing bytes, bad names. */
export class MalformedHeaderError extends OvsealError {
  declare readonly code: 'ERR_MALFORMED_HEADER';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MALFORMED_HEADER', `malformed header: ${message}`, options);
  }
}

/** The container was written by a format version this code does not read. */
export class UnsupportedVersionError extends OvsealError {
  declare readonly code: 'ERR_UNSUPPORTED_VERSION';
  readonly version: number;
  constructor(version: number) {
    super('ERR_UNSUPPORTED_VERSION', `unsupported container format version ${version}`, {
      hint: 'upgrade ovseal to read this container',
    });
    this.version = version;
  }
}

/** A size or count is outside its limits (checked before anything is allocated for it). */
export class LimitExceededError extends OvsealError {
  declare readonly code: 'ERR_LIMIT_EXCEEDED';
  readonly limit: string;
  constructor(limit: string, value: number, max: number) {
    super('ERR_LIMIT_EXCEEDED', `${limit} ${value} exceeds the limit of ${max}`);
    this.limit = limit;
  }
}

/** None of the identities given could unwrap any stanza of the container. */
export class NoMatchingKeyError extends OvsealError {
  declare readonly code: 'ERR_NO_MATCHING_KEY';
  /** The stanza types present in the container. */
  readonly stanzaTypes: readonly string[];
  constructor(stanzaTypes: readonly string[], identityCount: number) {
    const types = [...new Set(stanzaTypes)];
    super(
      'ERR_NO_MATCHING_KEY',
      `no identity matched any recipient (tried ${identityCount} ${identityCount === 1 ? 'identity' : 'identities'} against stanza types: ${types.join(', ') || 'none'})`,
      { hint: 'pass the identity (-i) of one of the recipients listed by `ovseal inspect`' },
    );
    this.stanzaTypes = types;
  }
}

/** One opaque error for every header MAC, key commitment or payload tag failure. */
export class AuthenticationFailedError extends OvsealError {
  declare readonly code: 'ERR_AUTHENTICATION_FAILED';
  /** `cause`: what refused it, for logs (a provider's own error); the message stays the same. */
  constructor(options?: { cause?: unknown }) {
    super('ERR_AUTHENTICATION_FAILED', 'authentication failed: the container is corrupt or was tampered with', options);
  }
}

/** The payload is shorter or longer than the header says. */
export class TruncatedError extends OvsealError {
  declare readonly code: 'ERR_TRUNCATED';
  constructor(message: string) {
    super('ERR_TRUNCATED', `truncated or extended container: ${message}`);
  }
}

/** A signature was required and the container has none. */
export class SignatureMissingError extends OvsealError {
  declare readonly code: 'ERR_SIGNATURE_MISSING';
  constructor() {
    super('ERR_SIGNATURE_MISSING', 'the container is not signed and a signature is required');
  }
}

/** The publisher signature does not verify (or the payload digest it covers does not match). */
export class SignatureInvalidError extends OvsealError {
  declare readonly code: 'ERR_SIGNATURE_INVALID';
  constructor(message = 'the publisher signature is invalid') {
    super('ERR_SIGNATURE_INVALID', message);
  }
}

/** The signature is valid but its key is not in the trusted list. */
export class SignatureUntrustedError extends OvsealError {
  declare readonly code: 'ERR_SIGNATURE_UNTRUSTED';
  readonly keyId: string;
  constructor(keyId: string) {
    super('ERR_SIGNATURE_UNTRUSTED', `the container is signed by an untrusted key (${keyId})`, {
      hint: 'add the publisher public key to the trusted keys',
    });
    this.keyId = keyId;
  }
}

/** The container is past its not-after time. */
export class ExpiredError extends OvsealError {
  declare readonly code: 'ERR_EXPIRED';
  readonly notAfter: Date;
  constructor(notAfter: Date) {
    super('ERR_EXPIRED', `the container expired at ${notAfter.toISOString()}`);
    this.notAfter = notAfter;
  }
}

/** A caller passed something unusable (an empty recipient list, a bad entry name, …). */
export class InvalidArgumentError extends OvsealError {
  declare readonly code: 'ERR_INVALID_ARGUMENT';
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super('ERR_INVALID_ARGUMENT', message, options);
  }
}

/** The container has no entry of that name. */
export class EntryNotFoundError extends OvsealError {
  declare readonly code: 'ERR_ENTRY_NOT_FOUND';
  constructor(name: string) {
    super('ERR_ENTRY_NOT_FOUND', `the container has no entry named ${JSON.stringify(name)}`);
  }
}

/** Reading or writing failed (a file, a stream, a URL). */
export class IoError extends OvsealError {
  declare readonly code: 'ERR_IO';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_IO', message, options);
  }
}

/**
 * The caller's `AbortSignal` fired. Named `AbortError`, like the DOM's and Node's own, so code
 * that checks `error.name === 'AbortError'` recognises it; `cause` is the signal's reason. By the
 * time it is thrown, workers are stopped, plaintext decrypted so far is zeroed, and no output
 * file is left.
 */
export class AbortError extends OvsealError {
  declare readonly code: 'ERR_ABORTED';
  constructor(reason?: unknown) {
    super('ERR_ABORTED', 'the operation was aborted', reason === undefined ? undefined : { cause: reason });
  }
}

/** An object was used after `dispose()` (its plaintext is zeroed, its resources released). */
export class DisposedError extends OvsealError {
  declare readonly code: 'ERR_DISPOSED';
  constructor(what: string) {
    super('ERR_DISPOSED', `${what} was used after dispose()`);
  }
}
