import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatHandle, parseHandle, PRIMARY_ALGORITHM, PRIMARY_ATTRIBUTES } from './lib/parent.js';
import { freePersistentHandle } from './lib/persistent-handle.js';
import { withTempDir } from './lib/temp-dir.js';
import { Tpm2Tools } from './lib/tools.js';
import { parseTpmPublic } from './lib/tpm-public.js';
import type { TpmOptions } from './types.js';

/** Options of {@link createStoragePrimary}. */
export interface CreateStoragePrimaryOptions extends TpmOptions {
  /** Where to persist it (default 0x81000001, the TCG SRK handle). */
  readonly handle?: number | string;
  /** Evict whatever is at the handle first (default: refuse with ERR_TPM_HANDLE_IN_USE). */
  readonly replace?: boolean;
}

/**
 * Persists the storage primary (the one the `'owner'` parent recreates from the owner seed) at a
 * persistent handle, so that sealing and unwrapping skip recreating it. Stanzas made with either
 * parent form open with the other: it is the same key.
 *
 * @example
 * ```ts
 * const { handle } = await createStoragePrimary({ handle: 0x81000001, tcti: 'device:/dev/tpmrm0' });
 * const recipient = new TpmSealRecipient({ parent: handle });
 * ```
 */
export async function createStoragePrimary(options: CreateStoragePrimaryOptions = {}): Promise<{ handle: string; name: string }> {
  const tools = new Tpm2Tools(options);
  const handle = formatHandle(parseHandle(options.handle ?? 0x81000001));
  return tools.exclusive(() =>
    withTempDir(async (dir) => {
      await freePersistentHandle(tools, handle, options.replace === true, dir);
      try {
        await tools.run(
          'createprimary',
          ['-C', 'o', '-g', 'sha256', '-G', PRIMARY_ALGORITHM, '-a', PRIMARY_ATTRIBUTES, '-c', 'primary.ctx', '-o', 'primary.pub', '-Q'],
          { cwd: dir },
        );
        await tools.run('evictcontrol', ['-C', 'o', '-c', 'primary.ctx', handle], { cwd: dir });
      } finally {
        await tools.flushTransient(dir);
      }
      return { handle, name: parseTpmPublic(await readFile(join(dir, 'primary.pub'))).name.toString('hex') };
    }),
  );
}
