import { challengeContext, quoteQualifyingData, quoteToJson, signDeviceRequest, stanzaFromJson } from '@ovseal/key-broker/protocol';
import type { ActivationChallenge, ChallengeResponse, DeviceModelList, EnrolRequest, KeyReleaseRequest, KeyReleaseResponse } from '@ovseal/key-broker/protocol';
import type { Identity } from '@ovseal/container';
import { EdgeRunnerError } from './errors.js';
import type { DeviceAttestation } from './lib/device-attestation.js';
import { httpRequest, readText, type BrokerTls, type HttpResponse } from './lib/http-request.js';

/** Options of {@link BrokerClient}. */
export interface BrokerClientOptions {
  readonly brokerUrl: string;
  readonly deviceId: string;
  /** The device key: unwraps each challenge (inside the TPM). */
  readonly identity: Identity;
  /** Per request, in ms (default 15 000). */
  readonly timeoutMs?: number;
  /** A CA and/or a public-key pin for the broker's certificate (config `brokerCa`, `brokerPin`). */
  readonly tls?: BrokerTls | undefined;
  /** The TPM's attestation key: key requests carry a quote when the broker asks for one. */
  readonly attestation?: DeviceAttestation | undefined;
}

/**
 * The device side of the key broker protocol. Each authenticated request first fetches a
 * challenge, unwraps its secret with the device key (a TPM operation), then sends the request with
 * a proof over it and the single-use nonce.
 *
 * @example
 * ```ts
 * const client = new BrokerClient({ brokerUrl, deviceId: 'edge-001', identity: deviceKey.identity });
 * const { models } = await client.listModels();
 * const release = await client.requestKey(models[0].id);
 * ```
 */
export class BrokerClient {
  readonly #options: BrokerClientOptions;

  constructor(options: BrokerClientOptions) {
    this.#options = { ...options, brokerUrl: options.brokerUrl.replace(/\/+$/, '') };
  }

  async #fetch(path: string, init: { method: string; headers: Record<string, string>; body?: Uint8Array }): Promise<HttpResponse & { text: string }> {
    try {
      const response = await httpRequest(`${this.#options.brokerUrl}${path}`, { ...init, timeoutMs: this.#options.timeoutMs ?? 15_000, tls: this.#options.tls });
      return { ...response, text: await readText(response) };
    } catch (cause) {
      throw new EdgeRunnerError('ERR_BROKER_UNREACHABLE', `the broker at ${this.#options.brokerUrl} is unreachable: ${(cause as Error).message}`, { cause });
    }
  }

  async #json<T>(response: { status: number; text: string }): Promise<T> {
    const { text } = response;
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = {};
    }
    if (response.status < 200 || response.status > 299) {
      const { error, message } = body as { error?: string; message?: string };
      throw new EdgeRunnerError('ERR_BROKER_REFUSED', `the broker refused (${response.status} ${error ?? 'error'}): ${message ?? text.slice(0, 200)}`, { status: response.status, brokerCode: error ?? 'unknown' });
    }
    return body as T;
  }

  /** A challenge, and its secret unwrapped with the device key. */
  async #challenge(): Promise<{ challenge: ChallengeResponse; secret: Uint8Array }> {
    const response = await this.#fetch('/v1/challenges', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ deviceId: this.#options.deviceId })),
    });
    const challenge = await this.#json<ChallengeResponse>(response);
    const secret = await this.#options.identity.unwrap([stanzaFromJson(challenge.stanza)], challengeContext(challenge.nonce, this.#options.deviceId));
    if (!secret) throw new EdgeRunnerError('ERR_DEVICE_KEY', 'the broker challenge is not for this device key (was the device registered with another key?)');
    return { challenge, secret };
  }

  /** An authenticated device request whose body may depend on its challenge (a quote for its nonce). */
  async #send<T>(method: 'GET' | 'POST', path: string, bodyFor: (challenge: ChallengeResponse) => Promise<unknown> | unknown): Promise<T> {
    const { challenge, secret } = await this.#challenge();
    let authorization: string;
    let payload: Buffer | undefined;
    try {
      const body = await bodyFor(challenge);
      payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      authorization = signDeviceRequest(secret, { method, path, deviceId: this.#options.deviceId, nonce: challenge.nonce, timestamp: Date.now(), body: payload ?? Buffer.alloc(0) });
    } finally {
      secret.fill(0);
    }
    const response = await this.#fetch(path, {
      method,
      headers: { authorization, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { body: payload }),
    });
    return this.#json<T>(response);
  }

  /** An authenticated device request; the broker's JSON answer. */
  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return this.#send<T>(method, path, () => body);
  }

  /** A quote for the challenge's nonce over the PCRs it names, when this device has an attestation key. */
  async #releaseBody(challenge: ChallengeResponse): Promise<KeyReleaseRequest> {
    const attestation = this.#options.attestation;
    if (!attestation || !challenge.attest) return {};
    const quote = await attestation.quote(challenge.attest.pcrs, quoteQualifyingData('release', challenge.nonce, this.#options.deviceId));
    return { quote: quoteToJson(quote) };
  }

  /** The models this device may run now (latest granted version of each). */
  listModels(): Promise<DeviceModelList> {
    return this.request<DeviceModelList>('GET', '/v1/models');
  }

  /** The model's data key, wrapped to this device's key. With an attestation key, the request carries a quote. */
  requestKey(modelId: string): Promise<KeyReleaseResponse> {
    return this.#send<KeyReleaseResponse>('POST', `/v1/models/${encodeURIComponent(modelId)}/key`, (challenge) => this.#releaseBody(challenge));
  }

  async #enrolRequest(token: string, body: EnrolRequest): Promise<{ status: number; body: unknown }> {
    const response = await this.#fetch('/v1/enrol', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(body)),
    });
    return { status: response.status, body: await this.#json(response) };
  }

  /**
   * Registers this device with an enrolment token (the broker applies the token's labels). With an
   * attestation key, in two requests: the TPM's keys, then the activated credential and a quote.
   */
  async enrol(token: string, key: { keyType: string; publicKeyPem: string; attestation?: DeviceAttestation | undefined }): Promise<{ id: string; labels: string[]; keyId: string }> {
    const base = { deviceId: this.#options.deviceId, keyType: key.keyType, publicKeyPem: key.publicKeyPem };
    if (!key.attestation) return (await this.#enrolRequest(token, base)).body as { id: string; labels: string[]; keyId: string };
    const claims = await key.attestation.enrolmentClaims();
    const first = await this.#enrolRequest(token, { ...base, attestation: claims });
    if (first.status !== 202) throw new EdgeRunnerError('ERR_BROKER_REFUSED', 'the broker did not answer the attested enrolment with a credential challenge (does it support attestation?)', { status: first.status, brokerCode: 'no_activation' });
    const challenge = first.body as ActivationChallenge;
    const secret = await key.attestation.activate(challenge);
    try {
      const quote = await key.attestation.quote(challenge.pcrs, quoteQualifyingData('enrol', challenge.nonce, this.#options.deviceId));
      const activation = { nonce: challenge.nonce, secret: secret.toString('base64') };
      return (await this.#enrolRequest(token, { ...base, attestation: { ...claims, activation, quote: quoteToJson(quote) } })).body as { id: string; labels: string[]; keyId: string };
    } finally {
      secret.fill(0);
    }
  }
}
