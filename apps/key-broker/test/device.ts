// A minimal device for the broker tests, written against the protocol module only (the edge
// runner has its own client): challenge, unwrap with the device key, sign, send.
import { createWrapContext, type Identity } from '@ovseal/container';
import { challengeWrapFields, signDeviceRequest, stanzaFromJson, type ChallengeResponse } from '@ovseal/broker-protocol';

export interface TestDevice {
  readonly id: string;
  readonly identity: Identity;
}

export interface SignedRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

export async function challenge(
  baseUrl: string,
  deviceId: string,
): Promise<{ status: number; body: ChallengeResponse & { error?: string } }> {
  const response = await fetch(`${baseUrl}/v1/challenges`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ deviceId }),
  });
  return { status: response.status, body: (await response.json()) as ChallengeResponse & { error?: string } };
}

/** Builds a signed request (not sent): replays and tampering reuse it. */
export async function signRequest(
  baseUrl: string,
  device: TestDevice,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  options: { timestamp?: number; signer?: TestDevice } = {},
): Promise<SignedRequest> {
  return signRequestWith(baseUrl, device, method, path, () => body, options);
}

/** Like {@link signRequest}, with a body made from the challenge (a quote for its nonce). */
export async function signRequestWith(
  baseUrl: string,
  device: TestDevice,
  method: 'GET' | 'POST',
  path: string,
  bodyFor: (challenge: ChallengeResponse) => Promise<unknown> | unknown,
  options: { timestamp?: number; signer?: TestDevice } = {},
): Promise<SignedRequest> {
  const signer = options.signer ?? device;
  const { body: issued } = await challenge(baseUrl, device.id);
  const secret = await signer.identity.unwrap(
    [stanzaFromJson(issued.stanza)],
    createWrapContext(challengeWrapFields(issued.nonce, device.id)),
  );
  if (!secret) throw new Error('the challenge is not for this key');
  const body = await bodyFor(issued);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  const authorization = signDeviceRequest(secret, {
    method,
    path,
    deviceId: device.id,
    nonce: issued.nonce,
    timestamp: options.timestamp ?? Date.now(),
    body: payload,
  });
  return { method, path, body: payload, headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } };
}

export async function send(baseUrl: string, request: SignedRequest): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    ...(request.method === 'GET' ? {} : { body: request.body }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

export async function deviceCall(baseUrl: string, device: TestDevice, method: 'GET' | 'POST', path: string, body?: unknown) {
  return send(baseUrl, await signRequest(baseUrl, device, method, path, body));
}

export const keyPath = (modelId: string) => `/v1/models/${encodeURIComponent(modelId)}/key`;
