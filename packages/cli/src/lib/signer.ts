import { readFile } from 'node:fs/promises';
import type { Signer } from '@ovseal/container';
import { UsageError, warn, type Io } from './output.js';

/** A publisher signer for `--sign`, and how to let go of it once the container is written. */
export interface OpenedSigner {
  readonly signer: Signer | string;
  close(): Promise<void>;
}

/**
 * `--sign KEY`: a PEM file (ovseal sign-keygen), `pkcs11:…` (a key in a token or HSM) or
 * `aws-kms:…` (an ECC_NIST_P256 signing key in KMS). Providers are imported only when used.
 */
export async function openSigner(value: string, io: Io): Promise<OpenedSigner> {
  if (value.startsWith('pkcs11:')) {
    const { Pkcs11Signer } = await import('@ovseal/key-pkcs11');
    const signer = await Pkcs11Signer.open(value, { onWarning: (message) => warn(io, message) });
    return { signer, close: () => signer.close() };
  }
  if (value.startsWith('aws-kms:')) {
    const { kmsSignerFromUri } = await import('@ovseal/key-kms');
    const signer = await kmsSignerFromUri(value);
    return { signer, close: () => signer.close() };
  }
  const pem = await readFile(value, 'utf8').catch(() => {
    throw new UsageError(`cannot read signing key ${value}`, 'pass a PEM from `ovseal sign-keygen`, pkcs11:… or aws-kms:…');
  });
  return { signer: pem, close: async () => {} };
}
