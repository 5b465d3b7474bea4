import { createPrivateKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';

import { invalidState, KmsFault, notFound } from './kms-fault.js';
import { aliasArn, keyArn, parseKeyRef } from './key-ref.js';
import {
  readStateFile,
  writeStateFile,
  type KeySpec,
  type KeyState,
  type KeyUsage,
  type StateDocument,
  type StoredAlias,
} from './state-file.js';

export interface KeyMaterial {
  readonly version: number;
  readonly key: Buffer;
  readonly createdAt: number;
}

/** A key as the server holds it in memory (mutable: state changes, rotations). */
export interface KeyRecord {
  readonly keyId: string;
  readonly arn: string;
  readonly accountId: string;
  readonly region: string;
  readonly description: string;
  readonly createdAt: number;
  readonly keySpec: KeySpec;
  readonly keyUsage: KeyUsage;
  /** The private key of an asymmetric (SIGN_VERIFY) key; symmetric keys have materials instead. */
  readonly signingKey?: KeyObject;
  state: KeyState;
  deletionDate?: number;
  pendingWindowInDays?: number;
  allowedPrincipals: string[] | null;
  readonly materials: KeyMaterial[];
}

export interface AliasRecord {
  readonly aliasName: string;
  readonly aliasArn: string;
  readonly accountId: string;
  readonly region: string;
  targetKeyId: string;
  readonly createdAt: number;
  updatedAt: number;
}

/** Who is asking and where: the signing principal's account and the region of the signature scope. */
export interface CallerScope {
  readonly accountId: string;
  readonly region: string;
}

export interface NewKey {
  readonly accountId: string;
  readonly region: string;
  readonly description?: string;
  readonly allowedPrincipals?: readonly string[] | null;
  /** Default SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT; ECC_NIST_P256 keys are SIGN_VERIFY. */
  readonly keySpec?: KeySpec;
}

/**
 * Keys and aliases, persisted to an optional state file. Every mutation marks the store dirty;
 * {@link KeyStore.flush} writes it (serialised, atomic) before the mutating request is answered.
 */
export class KeyStore {
  private readonly keys = new Map<string, KeyRecord>();
  private readonly aliases = new Map<string, AliasRecord>();
  private dirty = false;
  private writeChain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly stateFile: string | undefined,
    private readonly now: () => number,
  ) {}

  static async open(stateFile: string | undefined, now: () => number): Promise<KeyStore> {
    const store = new KeyStore(stateFile, now);
    if (stateFile !== undefined) {
      store.load(await readStateFile(stateFile));
      store.dirty = true;
      await store.flush();
    }
    return store;
  }

  createKey(spec: NewKey): KeyRecord {
    const keyId = randomUUID();
    const createdAt = this.now();
    const record: KeyRecord = {
      keyId,
      arn: keyArn(spec.region, spec.accountId, keyId),
      accountId: spec.accountId,
      region: spec.region,
      description: spec.description ?? '',
      createdAt,
      state: 'Enabled',
      allowedPrincipals: spec.allowedPrincipals ? [...spec.allowedPrincipals] : null,
      ...keyMaterialFor(spec.keySpec ?? 'SYMMETRIC_DEFAULT', createdAt),
    };
    this.keys.set(keyId, record);
    this.dirty = true;
    return record;
  }

  /**
   * Finds the key a request names (id, key ARN, alias name or alias ARN). Ids and alias names are
   * looked up in the caller's account and region, like KMS does; ARNs name their own account.
   */
  resolveKey(reference: string, caller: CallerScope, options: { allowAlias: boolean }): KeyRecord {
    this.purgeExpired();
    const ref = parseKeyRef(reference);
    if (ref === undefined) throw notFound(`Invalid keyId '${reference}'`);
    if ((ref.kind === 'alias-name' || ref.kind === 'alias-arn') && !options.allowAlias) {
      throw notFound(`Invalid keyId '${reference}': this operation takes a key id or key ARN`);
    }
    switch (ref.kind) {
      case 'key-id':
        return this.keyIn(ref.keyId, caller.accountId, caller.region, reference);
      case 'key-arn':
        return this.keyIn(ref.keyId, ref.accountId, this.sameRegion(ref.region, caller, reference), reference);
      case 'alias-name':
        return this.aliasTarget(ref.aliasName, caller.accountId, caller.region, reference);
      case 'alias-arn':
        return this.aliasTarget(ref.aliasName, ref.accountId, this.sameRegion(ref.region, caller, reference), reference);
    }
  }

  /** A key by bare id or key ARN, in any account or region (for the in-process helpers). */
  findKey(idOrArn: string): KeyRecord | undefined {
    this.purgeExpired();
    const ref = parseKeyRef(idOrArn);
    if (ref?.kind === 'key-id') return this.keys.get(ref.keyId);
    if (ref?.kind === 'key-arn') return this.findKeyByArn(idOrArn);
    return undefined;
  }

  findAlias(aliasName: string, scope: CallerScope): KeyRecord | undefined {
    this.purgeExpired();
    const alias = this.aliases.get(aliasKey(scope.accountId, scope.region, aliasName));
    return alias === undefined ? undefined : this.keys.get(alias.targetKeyId);
  }

  aliasesOf(key: KeyRecord): string[] {
    return [...this.aliases.values()].filter((alias) => alias.targetKeyId === key.keyId).map((alias) => alias.aliasName);
  }

  findKeyByArn(arn: string): KeyRecord | undefined {
    this.purgeExpired();
    const ref = parseKeyRef(arn);
    if (ref?.kind !== 'key-arn') return undefined;
    const key = this.keys.get(ref.keyId);
    return key?.arn === arn ? key : undefined;
  }

  listKeys(caller: CallerScope): KeyRecord[] {
    this.purgeExpired();
    return [...this.keys.values()].filter((key) => key.accountId === caller.accountId && key.region === caller.region);
  }

  listAliases(caller: CallerScope): AliasRecord[] {
    this.purgeExpired();
    return [...this.aliases.values()].filter((alias) => alias.accountId === caller.accountId && alias.region === caller.region);
  }

  createAlias(aliasName: string, target: KeyRecord): AliasRecord {
    const id = aliasKey(target.accountId, target.region, aliasName);
    if (this.aliases.has(id)) {
      throw new KmsFault(
        'AlreadyExistsException',
        `An alias with the name ${aliasArn(target.region, target.accountId, aliasName)} already exists`,
      );
    }
    const now = this.now();
    const alias: AliasRecord = {
      aliasName,
      aliasArn: aliasArn(target.region, target.accountId, aliasName),
      accountId: target.accountId,
      region: target.region,
      targetKeyId: target.keyId,
      createdAt: now,
      updatedAt: now,
    };
    this.aliases.set(id, alias);
    this.dirty = true;
    return alias;
  }

  setState(key: KeyRecord, state: KeyState, deletion?: { date: number; windowInDays: number }): void {
    key.state = state;
    if (deletion) {
      key.deletionDate = deletion.date;
      key.pendingWindowInDays = deletion.windowInDays;
    } else {
      delete key.deletionDate;
      delete key.pendingWindowInDays;
    }
    this.dirty = true;
  }

  setAllowedPrincipals(key: KeyRecord, principals: readonly string[] | null): void {
    key.allowedPrincipals = principals ? [...principals] : null;
    this.dirty = true;
  }

  /** Adds a new material version; older versions stay so old ciphertexts still decrypt. */
  rotate(key: KeyRecord): KeyMaterial {
    const last = key.materials[key.materials.length - 1];
    const material = { version: (last?.version ?? 0) + 1, key: randomBytes(32), createdAt: this.now() };
    key.materials.push(material);
    this.dirty = true;
    return material;
  }

  /** Writes the state file if anything changed; resolves once the change is on disk. */
  flush(): Promise<void> {
    const stateFile = this.stateFile;
    if (stateFile === undefined) {
      this.dirty = false;
      return Promise.resolve();
    }
    const run = this.writeChain.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      try {
        await writeStateFile(stateFile, this.snapshot());
      } catch (error) {
        this.dirty = true;
        throw error;
      }
    });
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  private keyIn(keyId: string, accountId: string, region: string, reference: string): KeyRecord {
    const key = this.keys.get(keyId);
    if (key === undefined || key.accountId !== accountId || key.region !== region) {
      throw notFound(`Key '${reference.startsWith('arn:') ? reference : keyArn(region, accountId, keyId)}' does not exist`);
    }
    return key;
  }

  private aliasTarget(aliasName: string, accountId: string, region: string, reference: string): KeyRecord {
    const alias = this.aliases.get(aliasKey(accountId, region, aliasName));
    if (alias === undefined) throw notFound(`Alias ${aliasArn(region, accountId, aliasName)} is not found.`);
    const key = this.keys.get(alias.targetKeyId);
    if (key === undefined) throw notFound(`Alias ${reference} points to a key that no longer exists.`);
    return key;
  }

  private sameRegion(region: string, caller: CallerScope, reference: string): string {
    // Keys are regional: a request signed for one region cannot use another region's key.
    if (region !== caller.region) throw notFound(`Key '${reference}' is not in the request's region ${caller.region}`);
    return region;
  }

  /** Deletes keys whose waiting period is over, with their aliases (as KMS does). */
  private purgeExpired(): void {
    const now = this.now();
    for (const key of this.keys.values()) {
      if (key.state !== 'PendingDeletion' || key.deletionDate === undefined || key.deletionDate > now) continue;
      this.keys.delete(key.keyId);
      for (const [id, alias] of this.aliases) if (alias.targetKeyId === key.keyId) this.aliases.delete(id);
      this.dirty = true;
    }
  }

  private load(document: StateDocument): void {
    for (const stored of document.keys) {
      const record: KeyRecord = {
        keyId: stored.keyId,
        arn: keyArn(stored.region, stored.accountId, stored.keyId),
        accountId: stored.accountId,
        region: stored.region,
        description: stored.description,
        createdAt: stored.createdAt,
        state: stored.state,
        allowedPrincipals: stored.allowedPrincipals ? [...stored.allowedPrincipals] : null,
        keySpec: stored.keySpec ?? 'SYMMETRIC_DEFAULT',
        keyUsage: stored.keyUsage ?? 'ENCRYPT_DECRYPT',
        ...(stored.signingKey === undefined
          ? {}
          : { signingKey: createPrivateKey({ key: Buffer.from(stored.signingKey, 'base64'), format: 'der', type: 'pkcs8' }) }),
        materials: stored.materials.map((m) => ({ version: m.version, key: decodeMaterial(m.key, stored.keyId), createdAt: m.createdAt })),
      };
      if (stored.deletionDate !== undefined) record.deletionDate = stored.deletionDate;
      if (stored.pendingWindowInDays !== undefined) record.pendingWindowInDays = stored.pendingWindowInDays;
      this.keys.set(record.keyId, record);
    }
    for (const stored of document.aliases) {
      this.aliases.set(aliasKey(stored.accountId, stored.region, stored.aliasName), {
        ...stored,
        aliasArn: aliasArn(stored.region, stored.accountId, stored.aliasName),
      });
    }
  }

  private snapshot(): StateDocument {
    return {
      format: 'kms-local-state',
      version: 1,
      keys: [...this.keys.values()].map((key) => ({
        keyId: key.keyId,
        accountId: key.accountId,
        region: key.region,
        description: key.description,
        createdAt: key.createdAt,
        state: key.state,
        ...(key.deletionDate === undefined ? {} : { deletionDate: key.deletionDate }),
        ...(key.pendingWindowInDays === undefined ? {} : { pendingWindowInDays: key.pendingWindowInDays }),
        allowedPrincipals: key.allowedPrincipals,
        ...(key.keySpec === 'SYMMETRIC_DEFAULT' ? {} : { keySpec: key.keySpec, keyUsage: key.keyUsage }),
        ...(key.signingKey === undefined ? {} : { signingKey: key.signingKey.export({ format: 'der', type: 'pkcs8' }).toString('base64') }),
        materials: key.materials.map((m) => ({ version: m.version, key: m.key.toString('base64'), createdAt: m.createdAt })),
      })),
      aliases: [...this.aliases.values()].map((alias): StoredAlias => ({
        aliasName: alias.aliasName,
        accountId: alias.accountId,
        region: alias.region,
        targetKeyId: alias.targetKeyId,
        createdAt: alias.createdAt,
        updatedAt: alias.updatedAt,
      })),
    };
  }
}

/** Throws the KMS error for a key that exists but cannot be used in its current state. */
export function assertUsable(key: KeyRecord): void {
  if (key.state === 'Disabled') throw new KmsFault('DisabledException', `${key.arn} is disabled.`);
  if (key.state === 'PendingDeletion') throw invalidState(`${key.arn} is pending deletion.`);
}

/** A new key's material: 32 random bytes (symmetric, version 1), or an EC P-256 key pair (signing). */
function keyMaterialFor(keySpec: KeySpec, createdAt: number): Pick<KeyRecord, 'keySpec' | 'keyUsage' | 'signingKey' | 'materials'> {
  if (keySpec === 'ECC_NIST_P256') {
    return {
      keySpec,
      keyUsage: 'SIGN_VERIFY',
      signingKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
      materials: [],
    };
  }
  return { keySpec, keyUsage: 'ENCRYPT_DECRYPT', materials: [{ version: 1, key: randomBytes(32), createdAt }] };
}

function aliasKey(accountId: string, region: string, aliasName: string): string {
  return `${accountId}/${region}/${aliasName}`;
}

function decodeMaterial(encoded: string, keyId: string): Buffer {
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== 32) throw new Error(`kms-local: key ${keyId} in the state file has material of ${key.length} bytes, not 32`);
  return key;
}
