import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_EK_HANDLE } from './attestation-key.js';
import { derElementLength } from './lib/attestation/der-length.js';
import { formatHandle, parseHandle, readPublicArea } from './lib/parent.js';
import { withTempDir } from './lib/temp-dir.js';
import { Tpm2Tools } from './lib/tools.js';
import { objectName, parseTpmPublic } from './lib/tpm-public.js';
import { TpmError } from './tpm-error.js';
import type { TpmOptions } from './types.js';

/** The NV index of the RSA 2048 EK certificate (TCG EK Credential Profile). ECC P-256: 0x01c0000a; swtpm's P-384: 0x01c00016. */
export const DEFAULT_EK_CERTIFICATE_INDEX = 0x01c00002;

/** Options of {@link readEndorsementKey}. */
export interface ReadEndorsementKeyOptions extends TpmOptions {
  /** The persistent EK (default 0x81010001, the RSA EK). */
  readonly handle?: number | string;
  /** The NV index of its certificate (default 0x01c00002). */
  readonly certificateIndex?: number;
}

/** An endorsement key as a device reports it to a verifier. */
export interface EndorsementKeyInfo {
  readonly handle: string;
  /** TPM2B_PUBLIC. */
  readonly publicArea: Buffer;
  readonly name: Buffer;
  /** The EK certificate (DER) from NV, or null when the TPM has none there. */
  readonly certificate: Buffer | null;
}

async function readCertificate(tools: Tpm2Tools, index: number, dir: string): Promise<Buffer | null> {
  try {
    await tools.run('nvread', [`0x${index.toString(16)}`, '-o', 'ek.crt'], { cwd: dir });
  } catch (error) {
    if (error instanceof TpmError && error.code === 'ERR_TPM_OBJECT_NOT_FOUND') return null;
    throw error;
  }
  const bytes = await readFile(join(dir, 'ek.crt'));
  return bytes.subarray(0, derElementLength(bytes) ?? bytes.length);
}

/**
 * Reads the TPM's endorsement key (public area) and its certificate from NV, for enrolment with
 * attestation. The EK must be persistent (`initAttestationKey` makes the RSA EK persistent at
 * 0x81010001 when it is missing).
 *
 * @example
 * ```ts
 * const ek = await readEndorsementKey({ tcti: 'device:/dev/tpmrm0' });
 * if (!ek.certificate) console.warn('this TPM has no EK certificate');
 * ```
 */
export async function readEndorsementKey(options: ReadEndorsementKeyOptions = {}): Promise<EndorsementKeyInfo> {
  const tools = new Tpm2Tools(options);
  const handle = formatHandle(parseHandle(options.handle ?? DEFAULT_EK_HANDLE, 'endorsement key handle'));
  return tools.exclusive(() =>
    withTempDir(async (dir) => {
      const publicArea = await readPublicArea(tools, handle, dir, 'ek.pub');
      const pub = parseTpmPublic(publicArea);
      const certificate = await readCertificate(tools, options.certificateIndex ?? DEFAULT_EK_CERTIFICATE_INDEX, dir);
      return { handle, publicArea, name: objectName(pub.nameAlg, pub.area), certificate };
    }),
  );
}
