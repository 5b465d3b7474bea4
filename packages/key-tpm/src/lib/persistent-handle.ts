import { TpmError } from '../tpm-error.js';
import type { Tpm2Tools } from './tools.js';

/** Makes sure nothing sits at `handle`: evicts it when `replace`, else refuses. */
export async function freePersistentHandle(tools: Tpm2Tools, handle: string, replace: boolean, dir: string): Promise<void> {
  try {
    await tools.run('readpublic', ['-c', handle, '-Q'], { cwd: dir });
  } catch (error) {
    if (error instanceof TpmError && error.code === 'ERR_TPM_OBJECT_NOT_FOUND') return;
    throw error;
  }
  if (!replace) {
    throw new TpmError('ERR_TPM_HANDLE_IN_USE', `persistent handle ${handle} is already in use`, {
      hint: 'choose another handle, or replace the object there (this destroys the key it holds)',
    });
  }
  await tools.run('evictcontrol', ['-C', 'o', '-c', handle], { cwd: dir });
}
