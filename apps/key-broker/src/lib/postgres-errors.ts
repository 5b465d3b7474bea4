import { BrokerError } from '../errors.js';

// Node socket errors of a database that is down, restarting or unreachable.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);
// SQLSTATEs of the same: class 08 (connection exception), shutdowns, too many connections, a
// statement cancelled by its timeout (an overloaded database).
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53400', '57014']);
// node-postgres says these in words only.
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connection error|Query read timeout|not queryable|Client was closed/i;

/** Whether a node-postgres error means "the database cannot be reached now" (retry later). */
export function isStoreUnavailable(error: unknown): boolean {
  if (error instanceof BrokerError) return error.code === 'ERR_BROKER_STORE_UNAVAILABLE';
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message);
}

/**
 * The typed error for an unreachable store. Its message names the failure's code, never the
 * connection string (which may hold a password).
 */
export function storeUnavailable(cause: unknown): BrokerError {
  if (cause instanceof BrokerError && cause.code === 'ERR_BROKER_STORE_UNAVAILABLE') return cause;
  const code = (cause as { code?: string }).code;
  const what = code ?? ((cause as Error)?.message ?? 'unknown').slice(0, 80);
  return new BrokerError('ERR_BROKER_STORE_UNAVAILABLE', `the broker database is unavailable (${what}); retry later`, {
    cause,
    hint: 'check that PostgreSQL is up and reachable from the broker',
  });
}
