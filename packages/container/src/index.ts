export type {
  Stanza,
  WrapContext,
  Recipient,
  Identity,
  EntryRole,
  ModelFormat,
  EntryInfo,
  ModelMetadata,
  SignatureAlgorithm,
  Signer,
  SignatureInfo,
  ContainerInfo,
} from './types.js';
export {
  OvsealError,
  MalformedHeaderError,
  UnsupportedVersionError,
  LimitExceededError,
  NoMatchingKeyError,
  AuthenticationFailedError,
  TruncatedError,
  SignatureMissingError,
  SignatureInvalidError,
  SignatureUntrustedError,
  ExpiredError,
  InvalidArgumentError,
  EntryNotFoundError,
  IoError,
  AbortError,
  DisposedError,
} from './errors.js';
export type { ContainerErrorCode } from './errors.js';
export { createWrapContext } from './wrap-context.js';
export { inferFormat } from './infer-format.js';
export { unwrapMatching } from './unwrap-matching.js';
export type { StanzaMatcher } from './unwrap-matching.js';
export { seal } from './seal.js';
export type { SealOptions } from './seal.js';
export { sealToBuffer } from './seal-to-buffer.js';
export type { SealEntryInput, SealMetadataInput, SealCommonOptions } from './lib/seal/seal-into.js';
export { open } from './open.js';
export type { OpenOptions, OpenedContainer, OpenedEntry } from './open.js';
export type { OpenCommonOptions } from './lib/open/prepare-open.js';
export type { TrustPolicy } from './lib/open/policy-checks.js';
export type { ContainerSource } from './lib/io/container-reader.js';
export { openEntry } from './open-entry.js';
export { openStream } from './open-stream.js';
export type { PlaintextChunk } from './open-stream.js';
export { inspect } from './inspect.js';
export { verify } from './verify.js';
export type { VerifyOptions, VerifyResult } from './verify.js';
export { rewrap } from './rewrap.js';
export { recoverRewrap } from './recover-rewrap.js';
export { rekey } from './rekey.js';
export type { RekeyOptions, RekeyResult } from './rekey.js';
export { verifyHeader } from './verify-header.js';
export type { VerifiedHeader } from './verify-header.js';
export { rewrapHeader } from './rewrap-header.js';
export type { RewrapHeaderOptions, RewrappedHeader } from './rewrap-header.js';
export type { HeaderKeyOptions } from './lib/open/with-header-key.js';
export type { RewrapOptions, RewrapResult } from './rewrap.js';
export { generateSigningKey } from './generate-signing-key.js';
export { createLocalSigner } from './create-local-signer.js';
export { ecdsaSignatureFromDer } from './ecdsa-signature-from-der.js';
export type { SigningKeyPair } from './generate-signing-key.js';
export { LIMITS, DEFAULT_SEGMENT_SIZE } from './lib/format/limits.js';
export { FORMAT_VERSION } from './lib/format/header-codec.js';
