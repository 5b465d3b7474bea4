import { createHmac, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { TpmEcdhRecipient } from '@ovseal/key-tpm';
import type { IncomingMessage } from 'node:http';
import { createWrapContext } from '@ovseal/container';
import {
  challengeWrapFields,
  DEVICE_AUTH_SCHEME,
  deviceRequestProof,
  parseDeviceAuthorization,
  stanzaToJson,
  type ChallengeResponse,
  type DeviceAuthorization,
} from '@ovseal/broker-protocol';
import type { BrokerStore, DeviceRecord } from '../store.js';
import type { DeviceRecipients } from './device-keys.js';
import { HttpError } from './http.js';
import { newNonce, nonceExpiry } from './nonce.js';

export interface DeviceAuthOptions {
  readonly store: BrokerStore;
  readonly recipients: DeviceRecipients;
  /** Server secret the challenge secrets derive from (shared by every broker of a deployment). */
  readonly secret: Uint8Array;
  readonly challengeTtlMs: number;
  readonly clockSkewMs: number;
}

/** What a verified request carries. */
export interface AuthenticatedDevice {
  readonly device: DeviceRecord;
  readonly nonce: string;
  /** The expiry the nonce carries. */
  readonly nonceExpiresAt: number;
}

/**
 * Device proof of possession, stateless until the proof is used:
 *
 * 1. `POST /v1/challenges` — nonce = 16 random bytes ‖ expiry (u64 ms); the challenge secret
 *    S = HMAC(server secret, nonce ‖ device id ‖ device key id) is wrapped to the device's TPM key
 *    (a `tpm-ecdh` or `tpm-rsa` stanza bound to the nonce and device). Nothing is stored.
 * 2. The device unwraps S inside its TPM and sends `Authorization: Ovseal-Device device=…, nonce=…,
 *    ts=…, proof=HMAC(S, method ‖ path ‖ device ‖ nonce ‖ ts ‖ SHA-256(body))`.
 * 3. The broker recomputes S, checks the proof in constant time, the expiry and the clock skew,
 *    then records the nonce as used (atomic insert): a replayed request is refused.
 */
export class DeviceAuthenticator {
  readonly #options: DeviceAuthOptions;
  /** A P-256 key made at start and never kept: decoy challenges are wrapped to it. */
  readonly #decoyRecipient: TpmEcdhRecipient;

  constructor(options: DeviceAuthOptions) {
    this.#options = options;
    this.#decoyRecipient = new TpmEcdhRecipient(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  }

  #challengeSecret(nonce: string, device: DeviceRecord): Buffer {
    return createHmac('sha256', this.#options.secret)
      .update(`ovseal-broker/v1 challenge\n${nonce}\n${device.id}\n${device.keyId}`)
      .digest();
  }

  #nonce(now: number): { nonce: string; expiresAt: number } {
    return newNonce(now, this.#options.challengeTtlMs);
  }

  async issue(device: DeviceRecord, now: number): Promise<ChallengeResponse> {
    const { nonce, expiresAt } = this.#nonce(now);
    const secret = this.#challengeSecret(nonce, device);
    try {
      const [stanza] = await this.#options.recipients.for(device).wrap(secret, createWrapContext(challengeWrapFields(nonce, device.id)));
      return { deviceId: device.id, nonce, expiresAt: new Date(expiresAt).toISOString(), stanza: stanzaToJson(stanza!) };
    } finally {
      secret.fill(0);
    }
  }

  /**
   * A challenge for an id no device has, shaped like a real one (a `tpm-ecdh` stanza for a key id
   * that stays the same for that id), so the answer does not tell which ids exist. It wraps a random
   * secret to a key nobody holds: no proof can be made from it.
   */
  async issueDecoy(deviceId: string, now: number): Promise<ChallengeResponse> {
    const { nonce, expiresAt } = this.#nonce(now);
    const secret = randomBytes(32);
    try {
      const [stanza] = await this.#decoyRecipient.wrap(secret, createWrapContext(challengeWrapFields(nonce, deviceId)));
      const keyId = createHmac('sha256', this.#options.secret).update(`ovseal-broker/v1 decoy key id\n${deviceId}`).digest('hex');
      return { deviceId, nonce, expiresAt: new Date(expiresAt).toISOString(), stanza: stanzaToJson({ ...stanza!, args: [keyId] }) };
    } finally {
      secret.fill(0);
    }
  }

  /**
   * Verifies the request's proof and uses its nonce — unless `deferNonce`: the caller then uses it
   * (in the commit of what the request does, see `withDeferredNonce`). Throws a 401 `HttpError`
   * with the reason.
   */
  async verify(req: IncomingMessage, body: Uint8Array, now: number, options: { deferNonce?: boolean } = {}): Promise<AuthenticatedDevice> {
    const auth = parseAuthorization(req.headers.authorization);
    const expiresAt = nonceExpiry(auth.nonce);
    if (expiresAt === undefined) throw unauthorized('bad_authorization', 'malformed nonce');
    if (now > expiresAt) throw unauthorized('challenge_expired', 'the challenge expired: request a new one');
    if (Math.abs(now - auth.timestamp) > this.#options.clockSkewMs)
      throw unauthorized('stale_request', 'the request time is too far from the broker clock');
    const device = await this.#options.store.getDevice(auth.deviceId);
    if (!device) throw unauthorized('bad_proof', 'the proof does not verify');
    const secret = this.#challengeSecret(auth.nonce, device);
    const expected = deviceRequestProof(secret, {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      deviceId: device.id,
      nonce: auth.nonce,
      timestamp: auth.timestamp,
      body,
    });
    secret.fill(0);
    if (auth.proof.length !== expected.length || !timingSafeEqual(auth.proof, expected))
      throw unauthorized('bad_proof', 'the proof does not verify', device.id);
    if (!options.deferNonce && !(await this.#options.store.useNonce(auth.nonce, device.id, expiresAt))) throw replayed(device.id);
    return { device, nonce: auth.nonce, nonceExpiresAt: expiresAt };
  }
}

/** A 401 that may name the (claimed) device, for the audit log. */
export class DeviceAuthError extends HttpError {
  readonly deviceId: string | undefined;
  constructor(code: string, message: string, deviceId?: string) {
    super(401, code, message, { 'www-authenticate': `${DEVICE_AUTH_SCHEME} challenge="/v1/challenges"` });
    this.deviceId = deviceId;
  }
}

function unauthorized(code: string, message: string, deviceId?: string): DeviceAuthError {
  return new DeviceAuthError(code, message, deviceId);
}

/** The refusal of a request whose nonce was used already (audited by the request handler). */
export function replayed(deviceId: string): DeviceAuthError {
  return unauthorized('replayed', 'this nonce was already used: the request is a replay', deviceId);
}

function parseAuthorization(header: string | undefined): DeviceAuthorization {
  const auth = parseDeviceAuthorization(header);
  if (auth === undefined) throw unauthorized('unauthenticated', `device requests need an "${DEVICE_AUTH_SCHEME}" authorization`);
  if (auth === 'malformed') throw unauthorized('bad_authorization', 'the authorization lacks device, nonce, ts or proof');
  return auth;
}
