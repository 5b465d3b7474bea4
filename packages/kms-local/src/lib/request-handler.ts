import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { FaultQueue, KmsLocalFault } from './faults.js';
import { parseRequestBody } from './input.js';
import { KmsFault } from './kms-fault.js';
import type { KeyStore } from './key-store.js';
import { OPERATIONS } from './operations.js';
import type { Principal } from './principals.js';
import { verifySigV4 } from './sigv4.js';

/** One request as kms-local saw it (the in-process log tests read). */
export interface KmsLocalRequest {
  /** `Encrypt`, `Decrypt`, …; empty for a request without a (known) `X-Amz-Target`. */
  readonly operation: string;
  /** The signing access key id, when the signature was checked. */
  readonly accessKeyId?: string;
  readonly region?: string;
  /** HTTP status answered; 0 when the connection was reset by a fault. */
  readonly status: number;
  /** `__type` of an error answer. */
  readonly errorType?: string;
  /** The kind of injected fault applied, if any. */
  readonly fault?: KmsLocalFault['kind'];
}

export interface HandlerDependencies {
  readonly store: KeyStore;
  readonly faults: FaultQueue;
  readonly findPrincipal: (accessKeyId: string) => Principal | undefined;
  readonly now: () => number;
  readonly record: (request: KmsLocalRequest) => void;
  readonly sleep: (ms: number) => Promise<void>;
  /** True once close() began: requests still held by a delay fault are dropped, not handled. */
  readonly stopping: () => boolean;
  /** Handles `/__kms-local/…` admin routes; undefined when the admin API is off. */
  readonly admin?: (request: IncomingMessage, body: Buffer, response: ServerResponse) => Promise<void>;
}

const TARGET_PREFIX = 'TrentService.';
const MAX_BODY = 1024 * 1024;
const JSON_11 = 'application/x-amz-json-1.1';

/** The HTTP side of kms-local: body, target, faults, signature, operation, answer. */
export function createRequestHandler(deps: HandlerDependencies): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handle(deps, request, response).catch((error: unknown) => {
      // Only reached if answering itself failed (the client went away): nothing left to tell anyone.
      if (!response.headersSent && !response.destroyed) sendError(response, internalError(error));
    });
  };
}

async function handle(deps: HandlerDependencies, request: IncomingMessage, response: ServerResponse): Promise<void> {
  // The server's own clock: SDKs read this header to correct their clock skew.
  response.setHeader('date', new Date(deps.now()).toUTCString());
  const body = await readBody(request);
  if (body === undefined) {
    sendError(response, new KmsFault('RequestEntityTooLargeException', `Request bodies are limited to ${MAX_BODY} bytes.`, 413));
    return;
  }
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  if (path === '/__kms-local/health') {
    sendJson(response, 200, { ok: true });
    return;
  }
  if (path.startsWith('/__kms-local/')) {
    if (deps.admin) await deps.admin(request, body, response);
    else sendJson(response, 404, { message: 'the kms-local admin API is off (start with adminApi / --admin)' });
    return;
  }

  const target = headerValue(request, 'x-amz-target') ?? '';
  const operationName = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  const operation = Object.hasOwn(OPERATIONS, operationName) ? OPERATIONS[operationName] : undefined;

  const fault = deps.faults.take(operationName);
  if (fault !== undefined) {
    const handled = await applyFault(deps, fault, response);
    if (handled) {
      deps.record({
        operation: operationName,
        status: response.destroyed && !response.headersSent ? 0 : response.statusCode,
        fault: fault.kind,
        ...errorTypeOf(fault),
      });
      return;
    }
  }

  let entry: { accessKeyId?: string; region?: string } = {};
  try {
    if (request.method !== 'POST') throw new KmsFault('UnknownOperationException', 'kms-local only answers POST requests.');
    const caller = verifySigV4(
      { method: request.method, url: request.url ?? '/', headers: request.headersDistinct, body },
      deps.findPrincipal,
      deps.now(),
    );
    entry = { accessKeyId: caller.principal.accessKeyId, region: caller.region };
    if (operation === undefined) throw new KmsFault('UnknownOperationException', `Unknown operation ${target || '(no X-Amz-Target)'}`);
    const result = operation(
      { store: deps.store, principal: caller.principal, region: caller.region, now: deps.now() },
      parseRequestBody(body),
    );
    // A change is on disk before it is acknowledged, so a restart never loses it.
    await deps.store.flush();
    sendJson(response, 200, result);
    deps.record({ operation: operationName, ...entry, status: 200, ...(fault ? { fault: fault.kind } : {}) });
  } catch (error) {
    const kmsFault = error instanceof KmsFault ? error : internalError(error);
    await deps.store.flush().catch(() => undefined);
    sendError(response, kmsFault);
    deps.record({
      operation: operationName,
      ...entry,
      status: kmsFault.status,
      errorType: kmsFault.type,
      ...(fault ? { fault: fault.kind } : {}),
    });
  }
}

/** Applies an injected fault; true when it answered (or dropped) the request itself. */
async function applyFault(deps: HandlerDependencies, fault: KmsLocalFault, response: ServerResponse): Promise<boolean> {
  switch (fault.kind) {
    case 'delay':
      await deps.sleep(fault.ms);
      if (!deps.stopping()) return false;
      response.socket?.destroy();
      return true;
    case 'reset':
      response.socket?.destroy();
      return true;
    case 'throttle':
      sendError(response, new KmsFault('ThrottlingException', 'Rate exceeded', 400));
      return true;
    case 'error':
      sendError(
        response,
        new KmsFault(fault.errorType ?? 'KMSInternalException', fault.message ?? 'kms-local: injected fault', fault.status ?? 500),
      );
      return true;
  }
}

function errorTypeOf(fault: KmsLocalFault): { errorType?: string } {
  if (fault.kind === 'throttle') return { errorType: 'ThrottlingException' };
  if (fault.kind === 'error') return { errorType: fault.errorType ?? 'KMSInternalException' };
  return {};
}

function internalError(error: unknown): KmsFault {
  process.emitWarning(`kms-local: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return new KmsFault('KMSInternalException', 'kms-local: internal error', 500);
}

function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function sendJson(response: ServerResponse, status: number, payload: unknown, contentType = JSON_11): void {
  if (response.destroyed || response.headersSent) return;
  const text = JSON.stringify(payload);
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(text);
}

function sendError(response: ServerResponse, fault: KmsFault): void {
  sendJson(response, fault.status, { __type: fault.type, message: fault.message });
}
