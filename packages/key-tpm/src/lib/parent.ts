import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ovseal/container';
import { TpmError } from '../tpm-error.js';
import type { StorageParent } from '../types.js';
import { baseResponseCode } from './response-code.js';
import type { Tpm2Tools } from './tools.js';
import { parseTpmPublic } from './tpm-public.js';

/**
 * The storage primary everything is created under. Its template is the TCG SRK one on ECC P-256
 * (restricted decryption key, AES-128-CFB, noDA), so recreating it from the owner seed always gives
 * the same key, and its name identifies the TPM.
 */
export const PRIMARY_ALGORITHM = 'ecc256:aes128cfb';
export const PRIMARY_ATTRIBUTES = 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt';

export type ParentSpec = { readonly kind: 'owner' } | { readonly kind: 'persistent'; readonly handle: number };

export function parseHandle(value: number | string, what = 'handle'): number {
  const handle =
    typeof value === 'number' ? value : /^(0x)?[0-9a-f]{1,8}$/i.test(value.trim()) ? Number.parseInt(value.trim(), 16) : Number.NaN;
  if (!Number.isInteger(handle) || handle < 0x81000000 || handle > 0x81ffffff) {
    throw new InvalidArgumentError(`bad persistent ${what} ${JSON.stringify(value)}`, {
      hint: 'persistent handles go from 0x81000000 to 0x81ffffff, e.g. 0x81000001',
    });
  }
  return handle;
}

export function formatHandle(handle: number): string {
  return `0x${handle.toString(16).padStart(8, '0')}`;
}

export function parseParent(parent: StorageParent | undefined): ParentSpec {
  if (parent === undefined || parent === 'owner') return { kind: 'owner' };
  return { kind: 'persistent', handle: parseHandle(parent, 'parent handle') };
}

export function formatParent(spec: ParentSpec): string {
  return spec.kind === 'owner' ? 'owner' : formatHandle(spec.handle);
}

/** A parent ready for `-C`: a handle, or a saved context file in the operation's directory. */
export interface PreparedParent {
  readonly arg: string;
  readonly name: Buffer;
  /** True when using the parent loads a transient copy (a context file) that must be flushed. */
  readonly transient: boolean;
}

interface OwnerPrimary {
  readonly context: Buffer;
  readonly name: Buffer;
}

// The owner-seed primary is recreated once per process and TPM, then reloaded from its saved
// context: one tpm2_createprimary (plus a flush) instead of one per operation. A TPM reset
// invalidates saved contexts; callers then drop the cache and retry (see withParent).
const ownerPrimaries = new Map<string, OwnerPrimary>();
const persistentNames = new Map<string, Buffer>();

async function createOwnerPrimary(tools: Tpm2Tools, dir: string): Promise<OwnerPrimary> {
  await tools.run(
    'createprimary',
    ['-C', 'o', '-g', 'sha256', '-G', PRIMARY_ALGORITHM, '-a', PRIMARY_ATTRIBUTES, '-c', 'primary.ctx', '-o', 'primary.pub', '-Q'],
    { cwd: dir },
  );
  await tools.flushTransient(dir);
  const [context, pub] = await Promise.all([readFile(join(dir, 'primary.ctx')), readFile(join(dir, 'primary.pub'))]);
  return { context, name: parseTpmPublic(pub).name };
}

export async function readPublicArea(tools: Tpm2Tools, handle: string, dir: string, file = 'object.pub'): Promise<Buffer> {
  await tools.run('readpublic', ['-c', handle, '-o', file], { cwd: dir });
  return readFile(join(dir, file));
}

export async function prepareParent(tools: Tpm2Tools, spec: ParentSpec, dir: string): Promise<PreparedParent> {
  if (spec.kind === 'persistent') {
    const arg = formatHandle(spec.handle);
    const key = `${tools.tpmKey}|${arg}`;
    let name = persistentNames.get(key);
    if (!name) {
      name = parseTpmPublic(await readPublicArea(tools, arg, dir, 'parent.pub')).name;
      persistentNames.set(key, name);
    }
    return { arg, name, transient: false };
  }
  let primary = ownerPrimaries.get(tools.tpmKey);
  if (!primary) {
    primary = await createOwnerPrimary(tools, dir);
    ownerPrimaries.set(tools.tpmKey, primary);
  }
  await writeFile(join(dir, 'parent.ctx'), primary.context);
  return { arg: 'parent.ctx', name: primary.name, transient: true };
}

/** A saved context from before a TPM reset fails to load (TPM2_ContextLoad) with an integrity error. */
function isStaleContext(error: unknown): boolean {
  return (
    error instanceof TpmError &&
    error.responseCode !== undefined &&
    baseResponseCode(error.responseCode) === 0x09f &&
    error.message.includes('ContextLoad')
  );
}

/**
 * Runs `fn` with the parent prepared; if the cached owner primary turns out stale (the TPM was
 * reset since), recreates it once and retries. Flushes what the operation left loaded.
 */
export async function withParent<T>(
  tools: Tpm2Tools,
  spec: ParentSpec,
  dir: string,
  fn: (parent: PreparedParent) => Promise<T>,
): Promise<T> {
  const attempt = async () => {
    const parent = await prepareParent(tools, spec, dir);
    return fn(parent);
  };
  try {
    return await attempt();
  } catch (error) {
    if (spec.kind !== 'owner' || !isStaleContext(error) || !ownerPrimaries.has(tools.tpmKey)) throw error;
    ownerPrimaries.delete(tools.tpmKey);
    await tools.flushTransient(dir);
    return await attempt();
  }
}

/** Forgets cached parents (for tests that replace a TPM's state). */
export function forgetParents(): void {
  ownerPrimaries.clear();
  persistentNames.clear();
}
