import { decodeKey, KeyFileError } from '@ovseal/key-file';

/**
 * Reads a 256-bit key from an environment variable: base64url of the 32 raw bytes, or the
 * checksummed `OVSEAL-KEK-1-…` text that `ovseal keygen` prints.
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
      hint: `export ${name}=$(ovseal keygen --print)`,
    });
  }
  return decodeKey(value, `environment variable ${name}`, true);
}
