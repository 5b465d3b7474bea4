import type { IncomingMessage, ServerResponse } from 'node:http';

/** A refusal with an HTTP status and a stable error code (the body's `error`). */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;
  /** More fields of the error body (e.g. `mismatched` of a `pcr_mismatch`). */
  readonly details: Readonly<Record<string, unknown>>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
    this.details = details;
  }
}

/** Reads the whole body, refusing (413) past `limit` bytes — from Content-Length first, then as it streams. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'body_too_large', `the body is limited to ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'body_too_large', `the body is limited to ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON object body (400 on anything else). */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad_json', 'the body is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new HttpError(400, 'bad_json', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, error.status, { ...error.details, error: error.code, message: error.message }, { ...error.headers });
}

/**
 * The client address, for rate limits and the audit log. Behind `trustedProxies` proxies of our
 * own, each appended the address it saw to X-Forwarded-For: the client is the hop that many places
 * from the right. Anything further left was written by the client itself and proves nothing (it is
 * the left-most value a client would forge).
 */
export function remoteOf(req: IncomingMessage, trustedProxies: number): string {
  const peer = req.socket.remoteAddress || 'unknown';
  if (trustedProxies < 1) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  // [peer, right-most hop, …]: the client is `trustedProxies` steps in, or the furthest one known.
  const chain = [peer, ...hops.reverse()];
  return chain[Math.min(trustedProxies, chain.length - 1)]!;
}

// Input checks shared by the routes: each names the field it refuses.
export function requireString(body: Record<string, unknown>, field: string, pattern?: RegExp): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0 || value.length > 8192 || (pattern && !pattern.test(value))) {
    throw new HttpError(400, 'bad_request', `field "${field}" is missing or invalid`);
  }
  return value;
}

export function optionalString(body: Record<string, unknown>, field: string, pattern?: RegExp): string | undefined {
  return body[field] === undefined || body[field] === null ? undefined : requireString(body, field, pattern);
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean {
  const value = body[field] ?? false;
  if (typeof value !== 'boolean') throw new HttpError(400, 'bad_request', `field "${field}" must be true or false`);
  return value;
}

export function requirePositiveInteger(body: Record<string, unknown>, field: string, fallback?: number): number {
  const value = body[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new HttpError(400, 'bad_request', `field "${field}" must be a non-negative integer`);
  return value;
}

export function stringList(body: Record<string, unknown>, field: string, pattern: RegExp): string[] {
  const value = body[field] ?? [];
  if (!Array.isArray(value) || value.length > 64 || !value.every((item) => typeof item === 'string' && pattern.test(item))) {
    throw new HttpError(400, 'bad_request', `field "${field}" must be a list of up to 64 strings matching ${pattern}`);
  }
  return [...new Set(value as string[])];
}

/** A time as ISO text or milliseconds; or `ttlSeconds` from now. */
export function timeField(body: Record<string, unknown>, field: string, now: number, defaultTtlSeconds?: number): number {
  const value = body[field];
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return Date.parse(value);
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const ttl = body['ttlSeconds'] ?? defaultTtlSeconds;
  if (value === undefined && typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0) return now + ttl * 1000;
  throw new HttpError(400, 'bad_request', `field "${field}" must be an ISO time (or give ttlSeconds)`);
}

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,127}$/;
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
