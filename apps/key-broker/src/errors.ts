import { OvsealError } from '@ovseal/container';

/** Codes of the errors the key broker throws (HTTP refusals are answered, not thrown). */
export type BrokerErrorCode = 'ERR_BROKER_CONFIG' | 'ERR_BROKER_CONFLICT' | 'ERR_BROKER_STORE' | 'ERR_BROKER_STORE_UNAVAILABLE';

/**
 * A broker failure: a bad configuration, a unique key taken in the store, a store that cannot be
 * opened, or a store that cannot be reached now (`ERR_BROKER_STORE_UNAVAILABLE`: the database is
 * down, restarting or overloaded — requests get 503 with `Retry-After`, and the store reconnects
 * by itself).
 *
 * @example
 * ```ts
 * try { await store.insertDevice(device); } catch (e) { if (e instanceof BrokerError && e.code === 'ERR_BROKER_CONFLICT') … }
 * ```
 */
export class BrokerError extends OvsealError {
  declare readonly code: BrokerErrorCode;
  constructor(code: BrokerErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(code, message, options);
  }
}
