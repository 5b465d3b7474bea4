import { OvsealError } from '@ovseal/container';

/** Codes of the errors the key broker throws (HTTP refusals are answered, not thrown). */
export type BrokerErrorCode = 'ERR_BROKER_CONFIG' | 'ERR_BROKER_CONFLICT' | 'ERR_BROKER_STORE';

/**
 * A broker failure: a bad configuration, a unique key taken in the store, a store that cannot be
 * opened.
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
