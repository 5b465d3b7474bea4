import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BrokerStore, DeviceRecord } from '../store.js';
import { HttpError } from './http.js';

/** How a route authenticates its caller. Every route but `/healthz` does (README, "Auth"); `/metrics` takes the metrics token or admin credentials. */
export type RouteAuth = 'public' | 'challenge' | 'enrolment' | 'admin' | 'device' | 'signed-url' | 'metrics';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly params: Readonly<Record<string, string>>;
  readonly remote: string;
  readonly now: number;
  /** The raw body, for routes whose authentication covers it (device proofs); else read by the route. */
  body: Buffer;
  /** Set by device authentication. */
  device?: DeviceRecord;
  /** Set by device authentication: the challenge nonce the request used (quotes are bound to it). */
  nonce?: string;
  /** With the nonce: the expiry it carries. */
  nonceExpiresAt?: number;
  /** For the request log: the device or actor the request was about. */
  subject?: string;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'HEAD' | 'DELETE';
  readonly path: string;
  readonly auth: RouteAuth;
  /** Body limit in bytes for routes that read their body before the handler. */
  readonly bodyLimit?: number;
  /**
   * Device routes: the handler uses the request's nonce itself (`withDeferredNonce`), in the same
   * commit as its own write, instead of authentication using it in a commit of its own.
   */
  readonly deferNonce?: boolean;
  readonly handler: (ctx: RequestContext, store: BrokerStore) => Promise<void>;
}

interface Compiled {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

export class Router {
  readonly #routes: Compiled[];

  constructor(routes: readonly Route[]) {
    this.#routes = routes.map((route) => {
      const names: string[] = [];
      const source = route.path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      });
      return { route, pattern: new RegExp(`^${source}$`), names };
    });
  }

  match(method: string, pathname: string): { route: Route; params: Record<string, string> } {
    let pathMatched = false;
    for (const { route, pattern, names } of this.#routes) {
      const match = pattern.exec(pathname);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== method && !(route.method === 'GET' && method === 'HEAD')) continue;
      const params: Record<string, string> = {};
      try {
        names.forEach((name, index) => (params[name] = decodeURIComponent(match[index + 1]!)));
      } catch {
        throw new HttpError(400, 'bad_path', 'malformed path parameter');
      }
      return { route, params };
    }
    if (pathMatched) throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here`);
    throw new HttpError(404, 'not_found', 'no such route');
  }
}
