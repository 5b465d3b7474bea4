import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `fn` with a fresh private directory (mode 0700) for the files tpm2-tools read and write:
 * public blobs, TPM-encrypted private blobs and saved contexts. Secrets never go there: they travel
 * through the tools' stdin and stdout.
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ovseal-tpm-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
