import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@ovseal/atomic-file';

/** Key specs kms-local makes: symmetric AES-GCM keys, and ECC P-256 signing keys. */
export type KeySpec = 'SYMMETRIC_DEFAULT' | 'ECC_NIST_P256';
export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY';

/** Key states kms-local models (a subset of KMS's). */
export type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

export interface StoredMaterial {
  readonly version: number;
  /** base64 of 32 random bytes. */
  readonly key: string;
  readonly createdAt: number;
}

export interface StoredKey {
  readonly keyId: string;
  readonly accountId: string;
  readonly region: string;
  readonly description: string;
  readonly createdAt: number;
  readonly state: KeyState;
  readonly deletionDate?: number;
  readonly pendingWindowInDays?: number;
  /** Access key ids, account ids, `arn:aws:iam::ACCOUNT:root` or `*`; null: any principal of the key's account. */
  readonly allowedPrincipals: readonly string[] | null;
  /** Absent for symmetric keys (files written before signing keys existed read the same). */
  readonly keySpec?: KeySpec;
  readonly keyUsage?: KeyUsage;
  /** base64 PKCS#8 DER of a signing key's private key. */
  readonly signingKey?: string;
  readonly materials: readonly StoredMaterial[];
}

export interface StoredAlias {
  readonly aliasName: string;
  readonly accountId: string;
  readonly region: string;
  readonly targetKeyId: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface StateDocument {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly keys: readonly StoredKey[];
  readonly aliases: readonly StoredAlias[];
}

const FORMAT = 'kms-local-state';

/** Reads a state file; a missing file is an empty state, a corrupt one is an error (never overwritten). */
export async function readStateFile(path: string): Promise<StateDocument> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { format: FORMAT, version: 1, keys: [], aliases: [] };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`kms-local: state file ${path} is not valid JSON`, { cause: error });
  }
  const document = parsed as Partial<StateDocument> | null;
  if (document?.format !== FORMAT || document.version !== 1 || !Array.isArray(document.keys) || !Array.isArray(document.aliases)) {
    throw new Error(`kms-local: ${path} is not a kms-local state file (format ${FORMAT}, version 1)`);
  }
  return document as StateDocument;
}

/**
 * Writes the whole state through `@ovseal/atomic-file` (temporary file, fsync, rename, directory
 * fsync), mode 0600: a crash leaves either the old state or the new one, never half a file.
 */
export async function writeStateFile(path: string, document: StateDocument): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
}
