import { AttestationKey, DEFAULT_AK_HANDLE, DEFAULT_EK_HANDLE } from './attestation-key.js';
import { formatHandle, parseHandle, readPublicArea } from './lib/parent.js';
import { freePersistentHandle } from './lib/persistent-handle.js';
import { withTempDir } from './lib/temp-dir.js';
import { Tpm2Tools } from './lib/tools.js';
import { TpmError } from './tpm-error.js';
import type { TpmOptions } from './types.js';

/** Options of {@link initAttestationKey}. */
export interface InitAttestationKeyOptions extends TpmOptions {
  /** Persist the attestation key here (default 0x81000200). */
  readonly handle?: number | string;
  /** The endorsement key the credential challenge will use (default 0x81010001); created (RSA, TCG template) when missing. */
  readonly ekHandle?: number | string;
  /** Replace a key already at the handle (default: refuse). */
  readonly replace?: boolean;
}

// A restricted signing key: it signs only structures the TPM generates (quotes), with one fixed
// scheme; made inside the TPM and never leaving it. It is a primary of the endorsement hierarchy:
// the TPM obfuscates the reset and restart counters in quotes signed by keys of the storage
// hierarchy, and the verifier needs them in clear.
const AK_ALGORITHM = 'ecc256:ecdsa-sha256:null';
const AK_ATTRIBUTES = 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign';

/** Makes the RSA EK persistent at `handle` unless something is there (the EK is derived from the endorsement seed: always the same key). */
async function ensureEndorsementKey(tools: Tpm2Tools, handle: string, dir: string): Promise<void> {
  try {
    await readPublicArea(tools, handle, dir, 'ek.pub');
  } catch (error) {
    if (!(error instanceof TpmError) || error.code !== 'ERR_TPM_OBJECT_NOT_FOUND') throw error;
    await tools.run('createek', ['-c', handle, '-G', 'rsa', '-u', 'ek.pub', '-Q'], { cwd: dir });
  }
}

/**
 * Creates the device's attestation key inside the TPM — ECDSA P-256 with SHA-256, restricted
 * signing, fixedTPM, a primary of the endorsement hierarchy (its authorization must be empty, the
 * default) — and persists it at a handle (default 0x81000200); makes sure the endorsement key is
 * persistent too. A verifier then proves the AK is in the same TPM as the EK with a
 * credential challenge, and trusts its quotes.
 *
 * @example
 * ```ts
 * const ak = await initAttestationKey({ tcti: 'device:/dev/tpmrm0' });
 * const quote = await ak.quote('sha256:0,7', nonce);
 * ```
 */
export async function initAttestationKey(options: InitAttestationKeyOptions = {}): Promise<AttestationKey> {
  const tools = new Tpm2Tools(options);
  const handle = formatHandle(parseHandle(options.handle ?? DEFAULT_AK_HANDLE, 'attestation key handle'));
  const ekHandle = formatHandle(parseHandle(options.ekHandle ?? DEFAULT_EK_HANDLE, 'endorsement key handle'));
  await tools.exclusive(() =>
    withTempDir(async (dir) => {
      await ensureEndorsementKey(tools, ekHandle, dir);
      await freePersistentHandle(tools, handle, options.replace === true, dir);
      try {
        await tools.run('createprimary', ['-C', 'e', '-g', 'sha256', '-G', AK_ALGORITHM, '-a', AK_ATTRIBUTES, '-c', 'ak.ctx', '-Q'], {
          cwd: dir,
        });
        await tools.run('evictcontrol', ['-C', 'o', '-c', 'ak.ctx', handle], { cwd: dir });
      } finally {
        await tools.flushTransient(dir);
      }
    }),
  );
  return AttestationKey.open(handle, options);
}
