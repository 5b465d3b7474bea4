import { challengeContext, signDeviceRequest, stanzaFromJson } from '@ovseal/key-broker/protocol';
import type { ChallengeResponse, DeviceModelList, KeyReleaseResponse } from '@ovseal/key-broker/protocol';
import type { Identity } from '@ovseal/container';
import { EdgeRunnerError } from './errors.js';
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

  /** A challenge's secret, unwrapped with the device key. */
  async #challengeSecret(): Promise<{ nonce: string; secret: Uint8Array }> {
    const response = await this.#fetch('/v1/challenges', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ deviceId: this.#options.deviceId })),
    });
    const challenge = await this.#json<ChallengeResponse>(response);
    const secret = await this.#options.identity.unwrap([stanzaFromJson(challenge.stanza)], challengeContext(challenge.nonce, this.#options.deviceId));
    if (!secret) throw new EdgeRunnerError('ERR_DEVICE_KEY', 'the broker challenge is not for this device key (was the device registered with another key?)');
    return { nonce: challenge.nonce, secret };
  }

  /** An authenticated device request; the broker's JSON answer. */
  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const { nonce, secret } = await this.#challengeSecret();
    const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
    const authorization = signDeviceRequest(secret, { method, path, deviceId: this.#options.deviceId, nonce, timestamp: Date.now(), body: payload });
    secret.fill(0);
    const response = await this.#fetch(path, {
      method,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: payload }),
    });
    return this.#json<T>(response);
  }

  /** The models this device may run now (latest granted version of each). */
  listModels(): Promise<DeviceModelList> {
    return this.request<DeviceModelList>('GET', '/v1/models');
  }

  /** The model's data key, wrapped to this device's key. */
  requestKey(modelId: string): Promise<KeyReleaseResponse> {
    return this.request<KeyReleaseResponse>('POST', `/v1/models/${encodeURIComponent(modelId)}/key`, {});
  }

  /** Registers this device with an enrolment token (the broker applies the token's labels). */
  async enrol(token: string, key: { keyType: string; publicKeyPem: string }): Promise<{ id: string; labels: string[]; keyId: string }> {
    const response = await this.#fetch('/v1/enrol', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ deviceId: this.#options.deviceId, keyType: key.keyType, publicKeyPem: key.publicKeyPem })),
    });
    return this.#json(response);
  }
}
