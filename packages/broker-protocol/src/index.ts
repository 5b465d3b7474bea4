// The device side of the key broker protocol, with no runtime dependency (Node's crypto only):
// what an edge device imports, and what the broker checks against.
export type {
  WireStanza,
  ChallengeResponse,
  DeviceModel,
  DeviceModelList,
  KeyReleaseRequest,
  KeyReleaseResponse,
  BrokerErrorBody,
  AttestRequest,
  WireQuote,
  EnrolAttestation,
  EnrolRequest,
  ActivationChallenge,
  PcrMismatch,
} from './types.js';
export { quoteQualifyingData } from './quote-qualifying-data.js';
export type { QuotePurpose } from './quote-qualifying-data.js';
export { quoteToJson } from './quote-json.js';
export type { QuoteBytes } from './quote-json.js';
export { REQUEST_ID_PATTERN } from './types.js';
export { stanzaToJson, stanzaFromJson } from './stanza-json.js';
export type { Stanza } from './stanza-json.js';
export { challengeWrapFields, CHALLENGE_LABEL } from './challenge-wrap-fields.js';
export type { WrapContextFields } from './challenge-wrap-fields.js';
export { deviceRequestProof, DEVICE_AUTH_SCHEME } from './canonical-request.js';
export type { DeviceRequestFields } from './canonical-request.js';
export { signDeviceRequest } from './sign-device-request.js';
export { parseDeviceAuthorization } from './parse-device-authorization.js';
export type { DeviceAuthorization } from './parse-device-authorization.js';
