import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@ovseal/container';
import type { Pkcs11Uri } from '../parse-pkcs11-uri.js';

/** Where a warning goes; by default `process.emitWarning`. */
export type WarningSink = (message: string) => void;

export const defaultWarningSink: WarningSink = (message) => process.emitWarning(message, { code: 'OVSEAL_PKCS11' });

async function pinFromFile(path: string): Promise<string> {
  let stats;
  try {
    stats = await stat(path);
  } catch (cause) {
    throw new InvalidArgumentError(`cannot read the PIN file ${path}: ${(cause as Error).message}`, { cause });
  }
  // Like key files: a PIN others can read is not a secret.
  if ((stats.mode & 0o077) !== 0) {
    throw new InvalidArgumentError(`the PIN file ${path} is readable by group or others (mode ${(stats.mode & 0o777).toString(8)})`, {
      hint: `chmod 600 ${path}`,
    });
  }
  return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
}

/**
 * The PIN for a URI: `pin-source` (`file:PATH`, `file:///PATH`, an absolute path, or `env:NAME`),
 * else `pin-value` (with a warning: a PIN in a URI ends up in shell history and process lists),
 * else `OVSEAL_PKCS11_PIN`, else none.
 */
export async function resolvePin(uri: Pkcs11Uri, warn: WarningSink): Promise<string | undefined> {
  const source = uri.pinSource;
  if (source !== undefined) {
    if (source.startsWith('env:')) {
      const value = process.env[source.slice(4)];
      if (value === undefined) throw new InvalidArgumentError(`pin-source ${source}: the variable is not set`);
      return value;
    }
    if (source.startsWith('file://')) return pinFromFile(fileURLToPath(source));
    if (source.startsWith('file:')) return pinFromFile(source.slice(5));
    if (source.startsWith('/')) return pinFromFile(source);
    throw new InvalidArgumentError(`pin-source ${JSON.stringify(source)} is not file:PATH or env:NAME`);
  }
  if (uri.pinValue !== undefined) {
    warn(
      'the PIN is in the pkcs11: URI (pin-value): it shows in shell history and process lists; use pin-source=file:PATH or pin-source=env:NAME',
    );
    return uri.pinValue;
  }
  return process.env['OVSEAL_PKCS11_PIN'];
}
