import { randomUUID } from 'node:crypto';
import { challengeWrapFields, quoteQualifyingData, quoteToJson, signDeviceRequest, stanzaFromJson } from '@ovseal/broker-protocol';
import type {
  ActivationChallenge,
  ChallengeResponse,
  DeviceModelList,
  EnrolRequest,
  KeyReleaseRequest,
  KeyReleaseResponse,
} from '@ovseal/broker-protocol';
import { createWrapContext, type Identity } from '@ovseal/container';
import { EdgeRunnerError } from './errors.js';
import type { DeviceAttestation } from './lib/device-attestation.js';
import { httpRequest, readText, type BrokerTls, type HttpResponse } from './lib/http-request.js';

/** Options of {@link BrokerClient}. */
export interface BrokerClientOptions {
  /**
   * The brokers of one deployment (they share one database), tried in turn: a broker that cannot be
   * reached or answers 5xx hands the request to the next; a refusal (4xx) is the fleet's answer and
   * is not retried elsewhere. The last broker that answered is tried first next time.
   */
  readonly brokerUrls: readonly string[];
  readonly deviceId: string;
  /** The device key: unwraps each challenge (inside the TPM). */
  readonly identity: Identity;
  /** Per request, in ms (default 15 000). */
  readonly timeoutMs?: number;
  /** A CA and/or a public-key pin for the brokers' certificates (config `brokerCa`, `brokerPin`). */
  readonly tls?: BrokerTls | undefined;
  /** The TPM's attestation key: key requests carry a quote when the broker asks for one. */
  readonly attestation?: DeviceAttestation | undefined;
  /** Told about every attempt (metrics): the broker URL and how it went. */
  readonly onAttempt?: (brokerUrl: string, outcome: 'ok' | 'refused' | 'unavailable') => void;
}

/** Unreachable, or a 5xx: another broker of the list may serve the request. */
function worthAnotherBroker(error: unknown): boolean {
  const failure = error as EdgeRunnerError;
  return failure.code === 'ERR_BROKER_UNREACHABLE' || (failure.code === 'ERR_BROKER_REFUSED' && (failure.status ?? 0) >= 500);
}

type EnrolledDevice = { id: string; labels: string[]; keyId: string };

/**
 * The device side of the key broker protocol. Each authenticated request first fetches a
 * challenge, unwraps its secret with the device key (a TPM operation), then sends the request with
 * a proof over it and the single-use nonce — all on one broker of the list, the next one taking
 * over when it cannot answer.
 *
 * @example
 * ```ts
 * const client = new BrokerClient({ brokerUrls: ['https://broker-a:8640', 'https://broker-b:8640'], deviceId: 'edge-001', identity: deviceKey.identity });
 * const { models } = await client.listModels();
 * const release = await client.requestKey(models[0].id);
 * ```
 */
export class BrokerClient {
  readonly #options: BrokerClientOptions;
  readonly #urls: readonly string[];
  /** Index of the broker that answered last: tried first. */
  #current = 0;
  /** Times a request moved on to the next broker. */
  failovers = 0;

  constructor(options: BrokerClientOptions) {
    if (options.brokerUrls.length === 0) throw new EdgeRunnerError('ERR_RUNNER_CONFIG', 'the broker client needs at least one broker URL');
    this.#options = options;
    this.#urls = options.brokerUrls.map((url) => url.replace(/\/+$/, ''));
  }

  /** The broker tried first now (the one that answered last). */
  get currentBroker(): string {
    return this.#urls[this.#current]!;
  }

  /**
   * Runs `attempt` against each broker in turn from the current one, until one answers (or
   * refuses). The last failure is thrown when none does.
   */
  async #withFailover<T>(attempt: (base: string) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let step = 0; step < this.#urls.length; step += 1) {
      const index = (this.#current + step) % this.#urls.length;
      const base = this.#urls[index]!;
      if (step > 0) this.failovers += 1;
      try {
        const result = await attempt(base);
        this.#current = index;
        this.#options.onAttempt?.(base, 'ok');
        return result;
      } catch (error) {
        const unavailable = worthAnotherBroker(error);
        this.#options.onAttempt?.(base, unavailable ? 'unavailable' : 'refused');
        if (!unavailable) {
          this.#current = index;
          throw error;
        }
        lastError = error;
      }
    }
    throw lastError;
  }

  async #fetch(
    base: string,
    path: string,
    init: { method: string; headers: Record<string, string>; body?: Uint8Array },
  ): Promise<HttpResponse & { text: string }> {
    try {
      const response = await httpRequest(`${base}${path}`, {
        ...init,
        timeoutMs: this.#options.timeoutMs ?? 15_000,
        tls: this.#options.tls,
      });
      return { ...response, text: await readText(response) };
    } catch (cause) {
      throw new EdgeRunnerError('ERR_BROKER_UNREACHABLE', `the broker at ${base} is unreachable: ${(cause as Error).message}`, { cause });
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
      throw new EdgeRunnerError(
        'ERR_BROKER_REFUSED',
        `the broker refused (${response.status} ${error ?? 'error'}): ${message ?? text.slice(0, 200)}`,
        { status: response.status, brokerCode: error ?? 'unknown' },
      );
    }
    return body as T;
  }

  /** A challenge, and its secret unwrapped with the device key. */
  async #challenge(base: string): Promise<{ challenge: ChallengeResponse; secret: Uint8Array }> {
    const response = await this.#fetch(base, '/v1/challenges', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ deviceId: this.#options.deviceId })),
    });
    const challenge = await this.#json<ChallengeResponse>(response);
    const secret = await this.#options.identity.unwrap(
      [stanzaFromJson(challenge.stanza)],
      createWrapContext(challengeWrapFields(challenge.nonce, this.#options.deviceId)),
    );
    if (!secret)
      throw new EdgeRunnerError(
        'ERR_DEVICE_KEY',
        'the broker challenge is not for this device key (was the device registered with another key?)',
      );
    return { challenge, secret };
  }

  /**
   * An authenticated device request whose body may depend on its challenge (a quote for its
   * nonce), on the first broker that answers.
   */
  #send<T>(method: 'GET' | 'POST', path: string, bodyFor: (challenge: ChallengeResponse) => Promise<unknown> | unknown): Promise<T> {
    return this.#withFailover((base) => this.#sendTo<T>(base, method, path, bodyFor));
  }

  async #sendTo<T>(
    base: string,
    method: 'GET' | 'POST',
    path: string,
    bodyFor: (challenge: ChallengeResponse) => Promise<unknown> | unknown,
  ): Promise<T> {
    const { challenge, secret } = await this.#challenge(base);
    let authorization: string;
    let payload: Buffer | undefined;
    try {
      const body = await bodyFor(challenge);
      payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      authorization = signDeviceRequest(secret, {
        method,
        path,
        deviceId: this.#options.deviceId,
        nonce: challenge.nonce,
        timestamp: Date.now(),
        body: payload ?? Buffer.alloc(0),
      });
    } finally {
      secret.fill(0);
    }
    const response = await this.#fetch(base, path, {
      method,
      headers: { authorization, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { body: payload }),
    });
    return this.#json<T>(response);
  }

  /** An authenticated device request (on the first broker that answers); the broker's JSON answer. */
  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return this.#send<T>(method, path, () => body);
  }

  /** The request id, and a quote for the challenge's nonce over the PCRs it names when this device has an attestation key. */
  async #releaseBody(challenge: ChallengeResponse, requestId: string): Promise<KeyReleaseRequest> {
    const attestation = this.#options.attestation;
    if (!attestation || !challenge.attest) return { requestId };
    const quote = await attestation.quote(challenge.attest.pcrs, quoteQualifyingData('release', challenge.nonce, this.#options.deviceId));
    return { requestId, quote: quoteToJson(quote) };
  }

  /** The models this device may run now (latest granted version of each). */
  listModels(): Promise<DeviceModelList> {
    return this.request<DeviceModelList>('GET', '/v1/models');
  }

  /**
   * The model's data key, wrapped to this device's key; with an attestation key, the request
   * carries a quote. `requestId` (default: a new one) names this fetch: keep it when retrying a
   * fetch whose answer was lost, and the broker counts it once — the failover inside this call
   * does so already.
   */
  requestKey(modelId: string, requestId: string = randomUUID()): Promise<KeyReleaseResponse> {
    return this.#send<KeyReleaseResponse>('POST', `/v1/models/${encodeURIComponent(modelId)}/key`, (challenge) =>
      this.#releaseBody(challenge, requestId),
    );
  }

  async #enrolRequest(base: string, token: string, body: EnrolRequest): Promise<{ status: number; body: unknown }> {
    const response = await this.#fetch(base, '/v1/enrol', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(body)),
    });
    return { status: response.status, body: await this.#json(response) };
  }

  /**
   * Registers this device with an enrolment token (the broker applies the token's labels). With an
   * attestation key, in two requests (to one broker): the TPM's keys, then the activated credential
   * and a quote.
   */
  enrol(
    token: string,
    key: { keyType: string; publicKeyPem: string; attestation?: DeviceAttestation | undefined },
  ): Promise<EnrolledDevice> {
    return this.#withFailover((base) => this.#enrolOn(base, token, key));
  }

  async #enrolOn(
    base: string,
    token: string,
    key: { keyType: string; publicKeyPem: string; attestation?: DeviceAttestation | undefined },
  ): Promise<EnrolledDevice> {
    const plain = { deviceId: this.#options.deviceId, keyType: key.keyType, publicKeyPem: key.publicKeyPem };
    if (!key.attestation) return (await this.#enrolRequest(base, token, plain)).body as EnrolledDevice;
    const claims = await key.attestation.enrolmentClaims();
    const first = await this.#enrolRequest(base, token, { ...plain, attestation: claims });
    if (first.status !== 202)
      throw new EdgeRunnerError(
        'ERR_BROKER_REFUSED',
        'the broker did not answer the attested enrolment with a credential challenge (does it support attestation?)',
        { status: first.status, brokerCode: 'no_activation' },
      );
    const challenge = first.body as ActivationChallenge;
    const secret = await key.attestation.activate(challenge);
    try {
      const quote = await key.attestation.quote(challenge.pcrs, quoteQualifyingData('enrol', challenge.nonce, this.#options.deviceId));
      const activation = { nonce: challenge.nonce, secret: secret.toString('base64') };
      return (await this.#enrolRequest(base, token, { ...plain, attestation: { ...claims, activation, quote: quoteToJson(quote) } }))
        .body as EnrolledDevice;
    } finally {
      secret.fill(0);
    }
  }
}
