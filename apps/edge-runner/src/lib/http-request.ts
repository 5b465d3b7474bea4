import { createHash, X509Certificate } from 'node:crypto';
import { request as httpRequestRaw, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequestRaw } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/** How the runner authenticates its broker beyond the system's CAs (config `brokerCa`, `brokerPin`). */
export interface BrokerTls {
  /** PEM: the only CA (or the broker's own certificate) trusted for the broker's URL. */
  readonly ca?: string;
  /** `sha256//BASE64`: SHA-256 of the broker certificate's public key (SPKI DER), as curl's --pinnedpubkey. */
  readonly pin?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body stream: read it, or `resume()` it to discard. */
  readonly body: IncomingMessage;
}

export interface HttpRequestInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array;
  /** The whole exchange, body included. */
  readonly timeoutMs: number;
  readonly tls?: BrokerTls | undefined;
}

/** The pin of a certificate: `sha256//` + base64 of the SHA-256 of its SubjectPublicKeyInfo. */
export function publicKeyPin(certificate: Uint8Array): string {
  const spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256//${createHash('sha256').update(spki).digest('base64')}`;
}

function pinnedIdentity(pin: string | undefined) {
  return (host: string, cert: PeerCertificate): Error | undefined => {
    const mismatch = checkServerIdentity(host, cert);
    if (mismatch) return mismatch;
    if (pin !== undefined && publicKeyPin(cert.raw) !== pin)
      return new Error(`the broker's certificate key does not match the pinned key (brokerPin ${pin})`);
    return undefined;
  };
}

/**
 * One agent per TLS policy: kept-alive connections are reused only by requests of the same policy
 * (the shared agent would hand a pinned request a connection nobody checked against the pin).
 */
const agents = new WeakMap<BrokerTls, Agent>();

function agentFor(tls: BrokerTls): Agent {
  let agent = agents.get(tls);
  if (!agent) {
    agent = new Agent({ keepAlive: true, ...(tls.ca ? { ca: tls.ca } : {}), checkServerIdentity: pinnedIdentity(tls.pin) });
    agents.set(tls, agent);
  }
  return agent;
}

/**
 * One HTTP(S) request with node:http, so that the broker's certificate can be pinned (fetch offers
 * no TLS options). Rejects with the transport's error (connection, TLS, pin, timeout).
 */
export function httpRequest(url: string, init: HttpRequestInit): Promise<HttpResponse> {
  const target = new URL(url);
  const https = target.protocol === 'https:';
  const send = https ? httpsRequestRaw : httpRequestRaw;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: init.method ?? 'GET',
        headers: init.headers ?? {},
        signal: AbortSignal.timeout(init.timeoutMs),
        ...(https && init.tls ? { agent: agentFor(init.tls) } : {}),
      },
      (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      },
    );
    req.once('error', reject);
    req.end(init.body === undefined ? undefined : Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength));
  });
}

/** The whole body as text. */
export async function readText(response: HttpResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
