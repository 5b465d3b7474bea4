import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { KmsFault } from './kms-fault.js';
import type { Principal } from './principals.js';

/** What the verifier needs from an HTTP request. */
export interface IncomingSignedRequest {
  readonly method: string;
  /** Path and query exactly as received. */
  readonly url: string;
  /** Header values by lowercase name, every occurrence kept. */
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  readonly body: Buffer;
}

export interface VerifiedCaller {
  readonly principal: Principal;
  /** The region of the signature's credential scope: the region the request is for. */
  readonly region: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SERVICE = 'kms';
const MAX_SKEW_MS = 5 * 60 * 1000;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Verifies an AWS Signature Version 4 `Authorization` header the way AWS does: same canonical
 * request, same string to sign, same key derivation, a constant-time comparison, and a clock skew
 * window of five minutes. Error types and messages follow AWS's, so SDKs react to them as they do
 * to AWS (the JavaScript SDK corrects its clock offset after a "Signature expired").
 */
export function verifySigV4(
  request: IncomingSignedRequest,
  findPrincipal: (accessKeyId: string) => Principal | undefined,
  now: number,
): VerifiedCaller {
  const authorization = single(request.headers, 'authorization');
  if (authorization === undefined) throw new KmsFault('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const parsed = parseAuthorization(authorization);
  const [accessKeyId = '', scopeDate = '', region = '', service = '', terminator = ''] = parsed.credential.split('/');

  const principal = findPrincipal(accessKeyId);
  if (principal === undefined) {
    throw new KmsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  if (principal.sessionToken !== undefined && single(request.headers, 'x-amz-security-token') !== principal.sessionToken) {
    throw new KmsFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  if (terminator !== 'aws4_request' || !/^[a-z0-9-]+$/.test(region)) {
    throw new KmsFault(
      'IncompleteSignatureException',
      `Credential should be scoped to a valid region and end with aws4_request: '${parsed.credential}'.`,
    );
  }
  if (service !== SERVICE) throw new KmsFault('InvalidSignatureException', `Credential should be scoped to correct service: '${SERVICE}'.`);

  const amzDate = single(request.headers, 'x-amz-date');
  const signedAt = amzDate === undefined ? undefined : parseAmzDate(amzDate);
  if (amzDate === undefined || signedAt === undefined) {
    throw new KmsFault(
      'IncompleteSignatureException',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  }
  if (!amzDate.startsWith(scopeDate) || scopeDate.length !== 8) {
    throw new KmsFault(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (!parsed.signedHeaders.includes('host')) {
    throw new KmsFault('InvalidSignatureException', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }

  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const canonical = canonicalRequest(request, parsed.signedHeaders);
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonical)].join('\n');
  const expected = hmac(signingKey(principal.secretAccessKey, scopeDate, region, service), stringToSign).toString('hex');
  if (!sameHex(expected, parsed.signature)) {
    throw new KmsFault(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }

  assertFresh(amzDate, signedAt, now);
  return { principal, region };
}

function parseAuthorization(header: string): { credential: string; signedHeaders: string[]; signature: string } {
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ALGORITHM) throw new KmsFault('IncompleteSignatureException', `Unsupported AWS 'algorithm': '${algorithm}'.`);
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const equals = part.indexOf('=');
    if (equals > 0) fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw new KmsFault(
      'IncompleteSignatureException',
      "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
    );
  }
  return { credential, signedHeaders: signedHeaders.split(';'), signature };
}

function canonicalRequest(request: IncomingSignedRequest, signedHeaders: readonly string[]): string {
  const queryStart = request.url.indexOf('?');
  const path = queryStart < 0 ? request.url : request.url.slice(0, queryStart);
  const query = queryStart < 0 ? '' : request.url.slice(queryStart + 1);
  const headerLines = signedHeaders.map((name) => `${name}:${canonicalHeaderValue(request.headers[name])}\n`).join('');
  const payloadHash = sha256Hex(request.body);
  const declaredHash = single(request.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== payloadHash) {
    throw new KmsFault('InvalidSignatureException', "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return [request.method, canonicalPath(path), canonicalQuery(query), headerLines, signedHeaders.join(';'), payloadHash].join('\n');
}

/** Non-S3 services normalise the path and encode each segment again (what the SDKs sign). */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return `/${segments.map(escapeUri).join('/')}${trailing}`;
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  return query
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      const value = equals < 0 ? '' : pair.slice(equals + 1);
      return [escapeUri(decodeQueryPart(name)), escapeUri(decodeQueryPart(value))] as const;
    })
    .sort(([a, av], [b, bv]) => (a === b ? compare(av, bv) : compare(a, b)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

function canonicalHeaderValue(values: readonly string[] | undefined): string {
  return (values ?? []).map((value) => value.trim().replace(/\s+/g, ' ')).join(',');
}

function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function assertFresh(amzDate: string, signedAt: number, now: number): void {
  if (signedAt < now - MAX_SKEW_MS) {
    throw new KmsFault(
      'InvalidSignatureException',
      `Signature expired: ${amzDate} is now earlier than ${toAmzDate(now - MAX_SKEW_MS)} (${toAmzDate(now)} - 5 min.)`,
    );
  }
  if (signedAt > now + MAX_SKEW_MS) {
    throw new KmsFault(
      'InvalidSignatureException',
      `Signature not yet current: ${amzDate} is still later than ${toAmzDate(now + MAX_SKEW_MS)} (${toAmzDate(now)} + 5 min.)`,
    );
  }
}

function parseAmzDate(value: string): number | undefined {
  const match = AMZ_DATE.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  const time = Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s);
  return Number.isNaN(time) ? undefined : time;
}

function toAmzDate(time: number): string {
  return new Date(time)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const dateKey = hmac(Buffer.from(`AWS4${secret}`, 'utf8'), date);
  return hmac(hmac(hmac(dateKey, region), service), 'aws4_request');
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function sameHex(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function single(headers: IncomingSignedRequest['headers'], name: string): string | undefined {
  const values = headers[name];
  return values === undefined || values.length === 0 ? undefined : values.join(',');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
