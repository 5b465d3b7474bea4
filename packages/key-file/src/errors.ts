import { OvsealError } from '@ovseal/container';

/** Codes of the errors thrown by `@ovseal/key-file` (key files and `env` keys). */
export type KeyFileErrorCode = 'ERR_KEY_FORMAT' | 'ERR_KEY_PERMISSIONS' | 'ERR_KEY_NOT_FOUND' | 'ERR_KEY_EXISTS' | 'ERR_KEY_IO';

/** A key file (or variable) could not be read, written or parsed, or is too widely readable. */
export class KeyFileError extends OvsealError {
  declare readonly code: KeyFileErrorCode;
  constructor(code: KeyFileErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(code, message, options);
  }
}
