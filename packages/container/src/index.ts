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
  RollbackError,
  InvalidArgumentError,
  EntryNotFoundError,
  IoError,
} from './errors.js';
export type { ContainerErrorCode } from './errors.js';
export { createWrapContext } from './wrap-context.js';
