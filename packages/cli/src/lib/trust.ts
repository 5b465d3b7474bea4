import { readFile } from 'node:fs/promises';
import type { TrustPolicy } from '@ovseal/container';
import { UsageError } from './output.js';

/** `--trust FILE` (repeatable): publisher public keys (SPKI PEM files). */
export async function trustFrom(files: readonly string[]): Promise<TrustPolicy | undefined> {
  if (files.length === 0) return undefined;
  const publicKeys = await Promise.all(
    files.map((file) => readFile(file, 'utf8').catch(() => {
      throw new UsageError(`cannot read trusted key ${file}`);
    })),
  );
  return { publicKeys };
}
