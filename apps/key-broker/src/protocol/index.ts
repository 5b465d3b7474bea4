// The device side of the broker protocol, without the server (no SQLite): what an edge device imports.
export type {
  WireStanza,
  ChallengeResponse,
  DeviceModel,
  DeviceModelList,
  KeyReleaseResponse,
  BrokerErrorBody,
  AttestRequest,
  WireQuote,
  KeyReleaseRequest,
  EnrolAttestation,
  EnrolRequest,
  ActivationChallenge,
  PcrMismatch,
} from './types.js';
export { quoteQualifyingData } from './quote-qualifying-data.js';
export type { QuotePurpose } from './quote-qualifying-data.js';
export { quoteToJson } from './quote-json.js';
export type { QuoteBytes } from './quote-json.js';
export { stanzaToJson, stanzaFromJson } from './stanza-json.js';
export { challengeContext, CHALLENGE_LABEL } from './challenge-context.js';
export { deviceRequestProof, DEVICE_AUTH_SCHEME } from './canonical-request.js';
export type { DeviceRequestFields } from './canonical-request.js';
export { signDeviceRequest } from './sign-device-request.js';
