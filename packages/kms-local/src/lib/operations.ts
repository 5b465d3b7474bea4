import { createPublicKey, randomBytes, sign, verify } from 'node:crypto';

import { openBlob, readBlobHeader, sealBlob } from './ciphertext.js';
import {
  optionalBoolean,
  optionalContext,
  optionalInteger,
  optionalString,
  requiredBlob,
  requiredString,
  type RequestBody,
} from './input.js';
import { invalidCiphertext, invalidState, KmsFault, notFound, validation } from './kms-fault.js';
import { assertUsable, type KeyRecord, type KeyStore } from './key-store.js';
import { mayUseKey, principalArn, type Principal } from './principals.js';

/** Everything an operation may use: the store, who is calling, for which region, and the clock. */
export interface OperationContext {
  readonly store: KeyStore;
  readonly principal: Principal;
  readonly region: string;
  readonly now: number;
}

type Operation = (context: OperationContext, body: RequestBody) => Record<string, unknown>;

const MAX_PLAINTEXT = 4096;
const MAX_CIPHERTEXT = 6144;
const ALGORITHM = 'SYMMETRIC_DEFAULT';
const SIGNING_ALGORITHM = 'ECDSA_SHA_256';
const SIGNING_SPEC = 'ECC_NIST_P256';
/** KMS's limit on a RAW message to Sign or Verify. */
const MAX_SIGN_MESSAGE = 4096;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The supported `TrentService.*` operations, by name. */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateKey: createKey,
  DescribeKey: (context, body) => ({ KeyMetadata: keyMetadata(visibleKey(context, requiredString(body, 'KeyId'), 'DescribeKey')) }),
  ListKeys: listKeys,
  CreateAlias: createAlias,
  ListAliases: listAliases,
  Encrypt: encrypt,
  Decrypt: decrypt,
  ReEncrypt: reEncrypt,
  GenerateDataKey: (context, body) => generateDataKey(context, body, true),
  GenerateDataKeyWithoutPlaintext: (context, body) => generateDataKey(context, body, false),
  EnableKey: enableKey,
  DisableKey: disableKey,
  ScheduleKeyDeletion: scheduleKeyDeletion,
  CancelKeyDeletion: cancelKeyDeletion,
  RotateKeyOnDemand: rotateKeyOnDemand,
  GetPublicKey: getPublicKey,
  Sign: signMessage,
  Verify: verifySignatureOperation,
};

function createKey(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const keyUsage = optionalString(body, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
  const keySpec = optionalString(body, 'KeySpec') ?? optionalString(body, 'CustomerMasterKeySpec') ?? ALGORITHM;
  const origin = optionalString(body, 'Origin') ?? 'AWS_KMS';
  const symmetric = keyUsage === 'ENCRYPT_DECRYPT' && keySpec === ALGORITHM;
  const signing = keyUsage === 'SIGN_VERIFY' && keySpec === SIGNING_SPEC;
  if (!(symmetric || signing) || origin !== 'AWS_KMS' || optionalBoolean(body, 'MultiRegion')) {
    throw new KmsFault(
      'UnsupportedOperationException',
      `kms-local only creates single-region ${ALGORITHM} ENCRYPT_DECRYPT keys and ${SIGNING_SPEC} SIGN_VERIFY keys.`,
    );
  }
  const policy = optionalString(body, 'Policy');
  const key = context.store.createKey({
    accountId: context.principal.accountId,
    region: context.region,
    description: optionalString(body, 'Description') ?? '',
    allowedPrincipals: policy === undefined ? null : principalsFromPolicy(policy),
    keySpec: signing ? SIGNING_SPEC : ALGORITHM,
  });
  return { KeyMetadata: keyMetadata(key) };
}

function listKeys(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const keys = context.store.listKeys(scope(context));
  const page = paginate(keys, body, (key) => key.keyId);
  return { Keys: page.items.map((key) => ({ KeyId: key.keyId, KeyArn: key.arn })), ...page.next };
}

function createAlias(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const aliasName = requiredString(body, 'AliasName');
  if (!/^alias\/[a-zA-Z0-9/_-]{1,250}$/.test(aliasName) || aliasName.startsWith('alias/aws/')) {
    throw new KmsFault(
      'InvalidAliasNameException',
      `Alias ${aliasName} is not a valid alias name (alias/ followed by letters, digits, / _ -; not alias/aws/).`,
    );
  }
  const target = usableForManagement(context, requiredString(body, 'TargetKeyId'), 'CreateAlias');
  if (target.accountId !== context.principal.accountId) throw notFound(`Key '${target.arn}' does not exist`);
  if (target.state === 'PendingDeletion') throw invalidState(`${target.arn} is pending deletion.`);
  context.store.createAlias(aliasName, target);
  return {};
}

function listAliases(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const keyId = optionalString(body, 'KeyId');
  const target = keyId === undefined ? undefined : context.store.resolveKey(keyId, scope(context), { allowAlias: false });
  const aliases = context.store.listAliases(scope(context)).filter((alias) => !target || alias.targetKeyId === target.keyId);
  const page = paginate(aliases, body, (alias) => alias.aliasName);
  return {
    Aliases: page.items.map((alias) => ({
      AliasName: alias.aliasName,
      AliasArn: alias.aliasArn,
      TargetKeyId: alias.targetKeyId,
      CreationDate: seconds(alias.createdAt),
      LastUpdatedDate: seconds(alias.updatedAt),
    })),
    ...page.next,
  };
}

function encrypt(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const key = usableForCrypto(context, requiredString(body, 'KeyId'), 'Encrypt');
  const plaintext = requiredBlob(body, 'Plaintext', 1, MAX_PLAINTEXT);
  assertAlgorithm(optionalString(body, 'EncryptionAlgorithm'));
  const encryptionContext = optionalContext(body, 'EncryptionContext');
  dryRun(body);
  return { CiphertextBlob: seal(key, plaintext, encryptionContext), KeyId: key.arn, EncryptionAlgorithm: ALGORITHM };
}

function decrypt(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const blob = requiredBlob(body, 'CiphertextBlob', 1, MAX_CIPHERTEXT);
  assertAlgorithm(optionalString(body, 'EncryptionAlgorithm'));
  if (body['Recipient'] !== undefined)
    throw new KmsFault('UnsupportedOperationException', 'kms-local does not support Recipient (Nitro Enclaves attestation).');
  const { key, plaintext } = unseal(context, blob, optionalString(body, 'KeyId'), optionalContext(body, 'EncryptionContext'), 'Decrypt');
  dryRun(body);
  return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: ALGORITHM };
}

function reEncrypt(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const blob = requiredBlob(body, 'CiphertextBlob', 1, MAX_CIPHERTEXT);
  assertAlgorithm(optionalString(body, 'SourceEncryptionAlgorithm'));
  assertAlgorithm(optionalString(body, 'DestinationEncryptionAlgorithm'));
  const source = unseal(context, blob, optionalString(body, 'SourceKeyId'), optionalContext(body, 'SourceEncryptionContext'), 'ReEncrypt');
  const destination = usableForCrypto(context, requiredString(body, 'DestinationKeyId'), 'ReEncrypt');
  const destinationContext = optionalContext(body, 'DestinationEncryptionContext');
  dryRun(body);
  return {
    CiphertextBlob: seal(destination, source.plaintext, destinationContext),
    SourceKeyId: source.key.arn,
    KeyId: destination.arn,
    SourceEncryptionAlgorithm: ALGORITHM,
    DestinationEncryptionAlgorithm: ALGORITHM,
  };
}

function generateDataKey(context: OperationContext, body: RequestBody, withPlaintext: boolean): Record<string, unknown> {
  const operation = withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext';
  const key = usableForCrypto(context, requiredString(body, 'KeyId'), operation);
  const numberOfBytes = optionalInteger(body, 'NumberOfBytes', 1, 1024);
  const keySpec = optionalString(body, 'KeySpec');
  if ((numberOfBytes === undefined) === (keySpec === undefined)) {
    throw validation('Please specify either number of bytes or key spec, but not both.');
  }
  const size = numberOfBytes ?? keySpecBytes(keySpec ?? '');
  const encryptionContext = optionalContext(body, 'EncryptionContext');
  dryRun(body);
  const plaintext = randomBytes(size);
  const response: Record<string, unknown> = { CiphertextBlob: seal(key, plaintext, encryptionContext), KeyId: key.arn };
  if (withPlaintext) response['Plaintext'] = plaintext.toString('base64');
  return response;
}

function enableKey(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const key = usableForManagement(context, requiredString(body, 'KeyId'), 'EnableKey');
  if (key.state === 'PendingDeletion') throw invalidState(`${key.arn} is pending deletion.`);
  context.store.setState(key, 'Enabled');
  return {};
}

function disableKey(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const key = usableForManagement(context, requiredString(body, 'KeyId'), 'DisableKey');
  if (key.state === 'PendingDeletion') throw invalidState(`${key.arn} is pending deletion.`);
  context.store.setState(key, 'Disabled');
  return {};
}

function scheduleKeyDeletion(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const key = usableForManagement(context, requiredString(body, 'KeyId'), 'ScheduleKeyDeletion');
  const windowInDays = optionalInteger(body, 'PendingWindowInDays', 7, 30) ?? 30;
  if (key.state === 'PendingDeletion') throw invalidState(`${key.arn} is pending deletion.`);
  const deletionDate = context.now + windowInDays * DAY_MS;
  context.store.setState(key, 'PendingDeletion', { date: deletionDate, windowInDays });
  return { KeyId: key.arn, DeletionDate: seconds(deletionDate), KeyState: 'PendingDeletion', PendingWindowInDays: windowInDays };
}

function cancelKeyDeletion(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const key = usableForManagement(context, requiredString(body, 'KeyId'), 'CancelKeyDeletion');
  if (key.state !== 'PendingDeletion') throw invalidState(`${key.arn} is not pending deletion.`);
  // KMS leaves a key whose deletion was cancelled disabled.
  context.store.setState(key, 'Disabled');
  return { KeyId: key.arn };
}

function rotateKeyOnDemand(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const key = usableForManagement(context, requiredString(body, 'KeyId'), 'RotateKeyOnDemand');
  assertUsable(key);
  if (key.keyUsage !== 'ENCRYPT_DECRYPT')
    throw new KmsFault('UnsupportedOperationException', `${key.arn} is an asymmetric key: KMS does not rotate those.`);
  context.store.rotate(key);
  return { KeyId: key.arn };
}

function getPublicKey(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const key = usableKey(context, requiredString(body, 'KeyId'), 'GetPublicKey');
  if (key.signingKey === undefined)
    throw new KmsFault('UnsupportedOperationException', `${key.arn} is a symmetric key: it has no public key.`);
  return {
    KeyId: key.arn,
    PublicKey: createPublicKey(key.signingKey).export({ format: 'der', type: 'spki' }).toString('base64'),
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    KeyUsage: key.keyUsage,
    SigningAlgorithms: [SIGNING_ALGORITHM],
  };
}

/** The message of a Sign or Verify request. kms-local signs RAW messages (KMS hashes them with SHA-256). */
function signedMessage(body: RequestBody): Buffer {
  const message = requiredBlob(body, 'Message', 1, MAX_SIGN_MESSAGE);
  const messageType = optionalString(body, 'MessageType') ?? 'RAW';
  if (messageType === 'DIGEST') {
    // Node's crypto signs messages, not precomputed digests, and kms-local does no ECDSA of its own.
    throw new KmsFault('UnsupportedOperationException', 'kms-local signs RAW messages only (MessageType DIGEST is not supported).');
  }
  if (messageType !== 'RAW')
    throw validation(
      `1 validation error detected: Value '${messageType}' at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [RAW, DIGEST, EXTERNAL_MU]`,
    );
  const algorithm = requiredString(body, 'SigningAlgorithm');
  if (algorithm !== SIGNING_ALGORITHM)
    throw new KmsFault(
      'InvalidKeyUsageException',
      `${algorithm} is not a valid signing algorithm for an ${SIGNING_SPEC} key; use ${SIGNING_ALGORITHM}.`,
    );
  return message;
}

function signMessage(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const key = usableForSigning(context, requiredString(body, 'KeyId'), 'Sign');
  const message = signedMessage(body);
  dryRun(body);
  // KMS answers ECDSA signatures DER-encoded.
  const signature = sign('sha256', message, { key: key.signingKey!, dsaEncoding: 'der' });
  return { KeyId: key.arn, Signature: signature.toString('base64'), SigningAlgorithm: SIGNING_ALGORITHM };
}

function verifySignatureOperation(context: OperationContext, body: RequestBody): Record<string, unknown> {
  const key = usableForSigning(context, requiredString(body, 'KeyId'), 'Verify');
  const message = signedMessage(body);
  const signature = requiredBlob(body, 'Signature', 1, 6144);
  dryRun(body);
  const valid = verify('sha256', message, { key: createPublicKey(key.signingKey!), dsaEncoding: 'der' }, signature);
  if (!valid) throw new KmsFault('KMSInvalidSignatureException', 'The signature is not valid for this message and key.');
  return { KeyId: key.arn, SignatureValid: true, SigningAlgorithm: SIGNING_ALGORITHM };
}

/** Resolves a key and checks the caller may use it: `NotFoundException`, then `AccessDeniedException`. */
function visibleKey(context: OperationContext, reference: string, operation: string, allowAlias = true): KeyRecord {
  const key = context.store.resolveKey(reference, scope(context), { allowAlias });
  if (!mayUseKey(key, context.principal)) {
    throw new KmsFault(
      'AccessDeniedException',
      `User: ${principalArn(context.principal)} is not authorized to perform: kms:${operation} on resource: ${key.arn} because no resource-based policy allows the kms:${operation} action`,
    );
  }
  return key;
}

function usableForCrypto(context: OperationContext, reference: string, operation: string): KeyRecord {
  const key = usableKey(context, reference, operation);
  if (key.keyUsage !== 'ENCRYPT_DECRYPT') throw wrongUsage(key, operation);
  return key;
}

function usableForSigning(context: OperationContext, reference: string, operation: string): KeyRecord {
  const key = usableKey(context, reference, operation);
  if (key.keyUsage !== 'SIGN_VERIFY' || key.signingKey === undefined) throw wrongUsage(key, operation);
  return key;
}

function usableKey(context: OperationContext, reference: string, operation: string): KeyRecord {
  const key = visibleKey(context, reference, operation);
  assertUsable(key);
  return key;
}

function wrongUsage(key: KeyRecord, operation: string): KmsFault {
  return new KmsFault('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
}

function usableForManagement(context: OperationContext, reference: string, operation: string): KeyRecord {
  return visibleKey(context, reference, operation, false);
}

/**
 * Decrypts a blob: the key comes from the blob itself; a `KeyId` in the request must name that same
 * key (`IncorrectKeyException` otherwise), so a caller can pin the key it expects.
 */
function unseal(
  context: OperationContext,
  blob: Buffer,
  expectedKeyId: string | undefined,
  encryptionContext: Record<string, string>,
  operation: string,
): { key: KeyRecord; plaintext: Buffer } {
  const header = readBlobHeader(blob);
  if (expectedKeyId !== undefined) {
    const expected = context.store.resolveKey(expectedKeyId, scope(context), { allowAlias: true });
    if (expected.arn !== header.keyArn) {
      throw new KmsFault('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    }
  }
  const owner = context.store.findKeyByArn(header.keyArn);
  // A blob of another region, or of a key that no longer exists, is simply not decryptable here.
  if (owner === undefined || owner.region !== context.region) throw invalidCiphertext();
  const key = usableForCrypto(context, owner.arn, operation);
  const material = key.materials.find((m) => m.version === header.materialVersion);
  if (material === undefined) throw invalidCiphertext();
  return { key, plaintext: openBlob(blob, material.key, encryptionContext) };
}

function seal(key: KeyRecord, plaintext: Uint8Array, encryptionContext: Record<string, string>): string {
  const material = key.materials[key.materials.length - 1];
  if (material === undefined) throw new KmsFault('KMSInternalException', `${key.arn} has no key material.`, 500);
  return sealBlob({ keyArn: key.arn, materialVersion: material.version }, material.key, plaintext, encryptionContext).toString('base64');
}

/** Reads the principals a key policy allows: `Principal.AWS` of its `Allow` statements. */
function principalsFromPolicy(policy: string): string[] {
  let document: unknown;
  try {
    document = JSON.parse(policy);
  } catch {
    throw new KmsFault('MalformedPolicyDocumentException', 'The key policy is not valid JSON.');
  }
  const statements = (document as { Statement?: unknown } | null)?.Statement;
  const list = Array.isArray(statements) ? statements : statements === undefined ? [] : [statements];
  const principals: string[] = [];
  for (const statement of list as { Effect?: unknown; Principal?: unknown }[]) {
    if (statement?.Effect !== 'Allow') continue;
    const principal = statement.Principal;
    const aws = principal === '*' ? '*' : (principal as { AWS?: unknown } | undefined)?.AWS;
    for (const entry of Array.isArray(aws) ? aws : [aws]) if (typeof entry === 'string') principals.push(entry);
  }
  if (principals.length === 0) {
    throw new KmsFault(
      'MalformedPolicyDocumentException',
      'The key policy allows no principal (kms-local reads Principal.AWS of Allow statements).',
    );
  }
  return principals;
}

export function keyMetadata(key: KeyRecord): Record<string, unknown> {
  return {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: seconds(key.createdAt),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    ...(key.deletionDate === undefined ? {} : { DeletionDate: seconds(key.deletionDate) }),
    ...(key.pendingWindowInDays === undefined ? {} : { PendingDeletionWindowInDays: key.pendingWindowInDays }),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...(key.keyUsage === 'SIGN_VERIFY' ? { SigningAlgorithms: [SIGNING_ALGORITHM] } : { EncryptionAlgorithms: [ALGORITHM] }),
    MultiRegion: false,
  };
}

function paginate<T>(items: readonly T[], body: RequestBody, idOf: (item: T) => string): { items: T[]; next: Record<string, unknown> } {
  const limit = optionalInteger(body, 'Limit', 1, 1000) ?? 100;
  const marker = optionalString(body, 'Marker');
  let start = 0;
  if (marker !== undefined) {
    start = items.findIndex((item) => idOf(item) === marker);
    if (start < 0) throw new KmsFault('InvalidMarkerException', 'The marker is not valid.');
  }
  const page = items.slice(start, start + limit);
  const following = items[start + limit];
  return { items: page, next: following === undefined ? { Truncated: false } : { Truncated: true, NextMarker: idOf(following) } };
}

function assertAlgorithm(algorithm: string | undefined): void {
  if (algorithm !== undefined && algorithm !== ALGORITHM) {
    throw new KmsFault('InvalidKeyUsageException', `kms-local keys only support the ${ALGORITHM} encryption algorithm.`);
  }
}

function dryRun(body: RequestBody): void {
  if (optionalBoolean(body, 'DryRun'))
    throw new KmsFault('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.', 412);
}

function keySpecBytes(keySpec: string): number {
  if (keySpec === 'AES_256') return 32;
  if (keySpec === 'AES_128') return 16;
  throw validation(
    `1 validation error detected: Value '${keySpec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`,
  );
}

function scope(context: OperationContext): { accountId: string; region: string } {
  return { accountId: context.principal.accountId, region: context.region };
}

function seconds(time: number): number {
  return time / 1000;
}
