import { KeyFileError } from './errors.js';
import { decodeKey } from './lib/key-text.js';

/**
 * Reads a 256-bit key from an environment variable: base64url of the 32 raw bytes, or the
 * checksummed `OVSEAL-KEK-1-…` text that `ovseal keygen` prints. Read from `process.env` (the
 * default), the variable is then removed from it, so that no child process inherits the key and
 * no diagnostic report shows it: read it once, and keep the identity or recipient. An environment
 * object of the caller's own is left as it is.
 *
 * @example
 * ```ts
 * const key = readEnvKey('OVSEAL_KEY');
 * ```
 */
export function readEnvKey(name: string, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new KeyFileError('ERR_KEY_NOT_FOUND', `environment variable ${name} is not set`, {
      hint: `export ${name}=$(ovseal keygen)`,
    });
  }
  const key = decodeKey(value, `environment variable ${name}`, true);
  if (env === process.env) delete process.env[name];
  return key;
}
