import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { createWrapContext, OvsealError, type WrapContext } from '@ovseal/container';
import { checkSoftHsmPrerequisites, createSoftHsmToken, type SoftHsmToken, type SoftHsmTokenOptions } from '../src/index.js';

/**
 * Token tests need SoftHSM2 and OpenSC's pkcs11-tool. Without them they skip, loudly, with the
 * install line — except under OVSEAL_REQUIRE_ALL=1 (CI), where they run and fail.
 */
export const prerequisites = checkSoftHsmPrerequisites();
const requireAll = process.env['OVSEAL_REQUIRE_ALL'] === '1';
const skip = !prerequisites.ok && !requireAll;
if (skip) console.warn(`\n[@ovseal/key-pkcs11] SKIPPING SoftHSM tests: ${prerequisites.message}\n`);

export const describeHsm: typeof describe.skip = skip ? describe.skip : describe;

/**
 * Tokens for one test file, all in one SoftHSM store: the module reads SOFTHSM2_CONF when it is
 * initialised, and it is initialised once per process while any handle is open.
 */
export function useSoftHsm(tokens: readonly SoftHsmTokenOptions[] = [{}]): SoftHsmToken[] {
  const made: SoftHsmToken[] = [];
  let directory: string | undefined;
  beforeAll(async () => {
    if (!prerequisites.ok) throw new Error(`OVSEAL_REQUIRE_ALL=1 and the SoftHSM tests cannot run: ${prerequisites.message}`);
    directory = await mkdtemp(join(tmpdir(), 'ovseal-pkcs11-test-'));
    for (const options of tokens) made.push(await createSoftHsmToken({ ...options, directory }));
    process.env['SOFTHSM2_CONF'] = made[0]!.configFile;
  });
  afterAll(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
  });
  return made;
}

export function newContext(modelName = 'detector', modelVersion = '4'): WrapContext {
  return createWrapContext({ containerId: randomBytes(16), modelName, modelVersion });
}

export function dataKey(): Buffer {
  return randomBytes(32);
}

/** Awaits a promise that must reject with an OvsealError of one of the codes; returns it. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<OvsealError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(OvsealError);
  expect((error as OvsealError).code).toBe(code);
  return error as OvsealError;
}

/**
 * Whether this process still has the module initialised, and how many sessions it has open on a
 * token: asked through a second pkcs11js instance (a second C_Initialize says "already initialised"
 * while ours is in use, and SoftHSM answers C_GetSessionInfo for any session of the process).
 */
export function moduleState(modulePath: string, tokenLabel: string): { initialised: boolean; sessions: number } {
  const { PKCS11 } = createRequire(import.meta.url)('pkcs11js') as typeof import('pkcs11js');
  const probe = new PKCS11();
  probe.load(modulePath);
  try {
    try {
      probe.C_Initialize();
    } catch (error) {
      if ((error as Error).message !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') throw error;
      // SoftHSM does not count sessions in its token info, but its session handles are small
      // numbers shared by the process: ask about each.
      let sessions = 0;
      for (let handle = 1; handle <= 256; handle++) {
        const session = Buffer.alloc(8);
        session.writeBigUInt64LE(BigInt(handle));
        try {
          const info = probe.C_GetSessionInfo(session);
          const slot = info.slotID;
          if (probe.C_GetTokenInfo(slot).label.trim() === tokenLabel) sessions += 1;
        } catch {
          // not an open session
        }
      }
      return { initialised: true, sessions };
    }
    probe.C_Finalize();
    return { initialised: false, sessions: 0 };
  } finally {
    probe.close();
  }
}
