import type { KeyObject } from 'node:crypto';

/**
 * A recipient stanza: one wrapped copy of a container's data key, as one key provider wrote it.
 *
 * Stanzas are typed (`file`, `env`, `aws-kms`, `tpm-seal`, `tpm-ecdh`, `tpm-rsa`, …). The type and
 * the arguments are short ASCII/UTF-8 strings a provider uses to recognise its own stanzas without
 * trying to decrypt them (a key id, an ARN, a fingerprint); the body holds the wrapped key.
 */
export interface Stanza {
  readonly type: string;
  readonly args: readonly string[];
  readonly body: Uint8Array;
}

/**
 * What every wrap is bound to: the container it belongs to. A stanza moved into another container
 * fails to unwrap because the context differs.
 */
export interface WrapContext {
  /** 16 random bytes that identify the container. */
  readonly containerId: Uint8Array;
  readonly modelName: string;
  readonly modelVersion: string;
  /** Canonical bytes of the three fields above: use as AEAD additional data. */
  readonly aad: Uint8Array;
  /** The same binding as a string map, e.g. for an AWS KMS `EncryptionContext`. */
  readonly encryptionContext: Readonly<Record<string, string>>;
}

/**
 * Wraps a data key for one key holder. Implemented once per key provider (age's `Recipient`).
 *
 * @example
 * ```ts
 * const recipient: Recipient = { async wrap(dataKey, ctx) { return [{ type: 'x', args: [], body: … }]; } };
 * ```
 */
export interface Recipient {
  wrap(dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]>;
  /**
   * Optional: true for the stanzas this recipient's key made (any container). `rewrap` removes by
   * it, and `seal`/`rewrap` refuse two stanzas for one key with it (a reader would try neither).
   * A recipient whose key is only known after a wrap (a KMS alias) answers for what it wrapped.
   */
  describes?(stanza: Stanza): boolean;
}

/**
 * Unwraps a data key from the stanzas of a container (age's `Identity`).
 *
 * Returns `null` when none of the stanzas belongs to this identity ("not my stanza"); throws an
 * {@link OvsealError} only for a fatal failure (a TPM policy failure, KMS access denied, …).
 * Providers implement it with `unwrapMatching`, which tries each of their keys at most once.
 */
export interface Identity {
  unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null>;
}

/** What an entry is for; the loader picks the runtime call from the roles. */
export type EntryRole = 'xml' | 'weights' | 'onnx' | 'blob' | 'aux';

/** Model format recorded in the header metadata. */
export type ModelFormat = 'openvino-ir' | 'onnx' | 'openvino-blob' | 'other';

/** One file inside a container. */
export interface EntryInfo {
  readonly name: string;
  readonly role: EntryRole;
  /** Plaintext size in bytes. */
  readonly size: number;
}

/** Model metadata recorded (and signed) in the header. */
export interface ModelMetadata {
  readonly name: string;
  readonly version: string;
  readonly format: ModelFormat;
  /** Seal time, whole seconds since the Unix epoch. */
  readonly createdAt: Date;
  /** Optional expiry: loaders refuse the container after this time. */
  readonly notAfter?: Date | undefined;
}

/** Publisher signature algorithms. */
export type SignatureAlgorithm = 'ed25519' | 'ecdsa-p256';

/**
 * A publisher signing key: a local private key ({@link createLocalSigner}), a key in an HSM
 * (`@ovseal/key-pkcs11`), a key in AWS KMS (`@ovseal/key-kms`). The private key never has to be
 * in this process; `seal` only needs the signature and the public key.
 *
 * @example
 * ```ts
 * const signer: Signer = createLocalSigner(privateKeyPem);
 * await seal({ output, entries, metadata, recipients, signer });
 * ```
 */
export interface Signer {
  readonly algorithm: SignatureAlgorithm;
  /** The public key verifiers trust (Ed25519 or P-256). */
  readonly publicKey: KeyObject;
  /**
   * Signs `message` whole: Ed25519 (PureEdDSA) over the message, or ECDSA P-256 over SHA-256 of
   * it. Returns the signature as docs/FORMAT.md §3.3 stores it: 64 bytes, `r ‖ s` for ECDSA (use
   * {@link ecdsaSignatureFromDer} for a DER one).
   */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** The publisher signature of a container, as parsed (not yet verified). */
export interface SignatureInfo {
  readonly algorithm: SignatureAlgorithm;
  /** The signer's public key, SPKI PEM. */
  readonly publicKeyPem: string;
  /** Hex SHA-256 of the signer's SPKI DER: the publisher key id. */
  readonly keyId: string;
}

/** Everything that can be read from a container without a key. */
export interface ContainerInfo {
  readonly formatVersion: number;
  /** Hex container id. */
  readonly containerId: string;
  readonly metadata: ModelMetadata;
  readonly entries: readonly EntryInfo[];
  readonly segmentSize: number;
  /** Stanza types and arguments (bodies are not shown). */
  readonly recipients: readonly { readonly type: string; readonly args: readonly string[] }[];
  readonly signature: SignatureInfo | null;
  /** Bytes from the start of the file to the first payload byte. */
  readonly payloadOffset: number;
  /** Total container size in bytes (header area + payload). */
  readonly totalSize: number;
  /** Hex SHA-256 tree digest of the encrypted payload (covered by the signature). */
  readonly payloadDigest: string;
}
