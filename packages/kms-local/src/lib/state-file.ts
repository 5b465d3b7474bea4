import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

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
 * Writes the whole state to a temporary file in the same folder, syncs it, then renames it over the
 * old file: a crash leaves either the old state or the new one, never half a file.
 */
export async function writeStateFile(path: string, document: StateDocument): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** Makes the rename itself durable. Some file systems refuse to fsync a directory; that is not fatal. */
async function syncDirectory(path: string): Promise<void> {
  try {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}
