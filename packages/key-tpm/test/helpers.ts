import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { createWrapContext, type WrapContext } from '@ovseal/container';
import { checkSwtpmPrerequisites, startSwtpm, type SwtpmInstance } from '../src/testing.js';
import { Tpm2Tools } from '../src/lib/tools.js';

/**
 * TPM tests need swtpm and tpm2-tools. Without them they skip, loudly, with the install line —
 * except under OVSEAL_REQUIRE_ALL=1 (CI), where they run and fail.
 */
export const prerequisites = checkSwtpmPrerequisites();
const requireAll = process.env['OVSEAL_REQUIRE_ALL'] === '1';
const skip = !prerequisites.ok && !requireAll;
if (skip) console.warn(`\n[@ovseal/key-tpm] SKIPPING TPM tests: ${prerequisites.message}\n`);

export const describeTpm: typeof describe.skip = skip ? describe.skip : describe;

export function assertPrerequisites(): void {
  if (!prerequisites.ok) throw new Error(`OVSEAL_REQUIRE_ALL=1 and the TPM tests cannot run: ${prerequisites.message}`);
}

/** Starts a swtpm (temp state dir) before the suite and stops it after. */
export function useSwtpm(): { readonly tpm: SwtpmInstance; readonly tcti: string } {
  let instance: SwtpmInstance | undefined;
  beforeAll(async () => {
    assertPrerequisites();
    instance = await startSwtpm();
  });
  afterAll(async () => {
    await instance?.close();
  });
  return {
    get tpm() {
      if (!instance) throw new Error('swtpm not started');
      return instance;
    },
    get tcti() {
      return this.tpm.tcti;
    },
  };
}

export function newContext(modelName = 'detector', modelVersion = '4'): WrapContext {
  return createWrapContext({ containerId: randomBytes(16), modelName, modelVersion });
}

/** A random data key (a Buffer, like what the identities return, so toEqual compares bytes). */
export function dataKey(): Buffer {
  return randomBytes(32);
}

/** Transient objects and loaded sessions left in the TPM (should be none after each operation). */
export async function leftovers(tcti: string): Promise<string> {
  const tools = new Tpm2Tools({ tcti });
  const transient = (await tools.run('getcap', ['handles-transient'])).toString().trim();
  const sessions = (await tools.run('getcap', ['handles-loaded-session'])).toString().trim();
  return [transient, sessions].filter(Boolean).join(' ');
}

export async function extendPcr(tcti: string, index: number): Promise<void> {
  await new Tpm2Tools({ tcti }).run('pcrextend', [`${index}:sha256=${randomBytes(32).toString('hex')}`]);
}
