import { OvsealError } from '@ovseal/container';

/** Codes of the errors the edge runner throws. */
export type EdgeRunnerErrorCode =
  'ERR_RUNNER_CONFIG' | 'ERR_DEVICE_KEY' | 'ERR_BROKER_UNREACHABLE' | 'ERR_BROKER_REFUSED' | 'ERR_DOWNLOAD' | 'ERR_BAD_MODEL_ID';

/**
 * A failure of the edge runner. `ERR_BROKER_REFUSED` carries the broker's HTTP status and error
 * code (`device_revoked`, `grant_expired`, `releases_exhausted`, …).
 *
 * @example
 * ```ts
 * try { await client.requestKey('det@4.0.0'); } catch (e) { if (e instanceof EdgeRunnerError && e.brokerCode === 'device_revoked') … }
 * ```
 */
export class EdgeRunnerError extends OvsealError {
  declare readonly code: EdgeRunnerErrorCode;
  /** HTTP status of a broker refusal. */
  readonly status?: number;
  /** The broker's error code of a refusal. */
  readonly brokerCode?: string;

  constructor(
    code: EdgeRunnerErrorCode,
    message: string,
    options?: { cause?: unknown; hint?: string; status?: number; brokerCode?: string },
  ) {
    super(code, message, options);
    if (options?.status !== undefined) this.status = options.status;
    if (options?.brokerCode !== undefined) this.brokerCode = options.brokerCode;
  }
}
