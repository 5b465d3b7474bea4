import { readFile } from 'node:fs/promises';
import type { TrustPolicy } from '@ovseal/container';
import { UsageError } from './output.js';

/**
 * `--trust FILE` (repeatable): publisher public keys, SPKI PEM (`ovseal sign-keygen`'s .pub) or
 * SPKI DER (what `aws kms get-public-key` and `pkcs11-tool --read-object --type pubkey` export).
 */
export async function trustFrom(files: readonly string[]): Promise<TrustPolicy | undefined> {
  if (files.length === 0) return undefined;
  const publicKeys = await Promise.all(
    files.map(async (file) => {
      const bytes = await readFile(file).catch(() => {
        throw new UsageError(`cannot read trusted key ${file}`);
      });
      const text = bytes.toString('latin1');
      return text.includes('-----BEGIN') ? bytes.toString('utf8') : new Uint8Array(bytes);
    }),
  );
  return { publicKeys };
}
