import type { IncomingMessage, ServerResponse } from 'node:http';

import type { KmsLocalFault } from './faults.js';
import { sendJson } from './request-handler.js';

/** What the admin routes may do: the same things as the in-process handle. */
export interface AdminActions {
  injectFault(fault: KmsLocalFault): void;
  clearFaults(): void;
  requests(): unknown;
  createKey(options: Record<string, unknown>): Promise<unknown>;
}

/**
 * `/__kms-local/…` routes, only mounted when the server was started with `adminApi: true`
 * (`kms-local --admin`). They are unauthenticated, so kms-local listens on 127.0.0.1 by default.
 *
 * - `POST /__kms-local/faults` `{"kind":"error","count":3}` (count may be `"Infinity"`)
 * - `DELETE /__kms-local/faults`
 * - `GET /__kms-local/requests`
 * - `POST /__kms-local/keys` `{"alias":"alias/x","region":"eu-west-1","allowedPrincipals":["AKID"]}`
 */
export function createAdminRoutes(actions: AdminActions) {
  return async (request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '').split('?')[0];
    const route = `${request.method ?? 'GET'} ${path}`;
    try {
      switch (route) {
        case 'POST /__kms-local/faults': {
          const fault = parseJson(body) as Record<string, unknown>;
          const count = fault['count'] === 'Infinity' ? Infinity : (fault['count'] ?? 1);
          actions.injectFault({ ...fault, count } as KmsLocalFault);
          sendJson(response, 200, { ok: true }, 'application/json');
          return;
        }
        case 'DELETE /__kms-local/faults':
          actions.clearFaults();
          sendJson(response, 200, { ok: true }, 'application/json');
          return;
        case 'GET /__kms-local/requests':
          sendJson(response, 200, actions.requests(), 'application/json');
          return;
        case 'POST /__kms-local/keys':
          sendJson(response, 200, await actions.createKey(parseJson(body) as Record<string, unknown>), 'application/json');
          return;
        default:
          sendJson(response, 404, { message: `no admin route ${route}` }, 'application/json');
      }
    } catch (error) {
      sendJson(response, 400, { message: error instanceof Error ? error.message : String(error) }, 'application/json');
    }
  };
}

function parseJson(body: Buffer): unknown {
  const value: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected a JSON object');
  return value;
}
