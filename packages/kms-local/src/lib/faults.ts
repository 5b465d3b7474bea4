/**
 * A fault the server applies to the next matching requests, before it checks the signature. Test
 * harnesses use it to show how clients behave when KMS misbehaves; it is not part of the KMS
 * protocol (in-process API, or the admin route when `adminApi` is on).
 */
export type KmsLocalFault =
  /** Answer with an error (default: HTTP 500 `KMSInternalException`). */
  | (FaultScope & { readonly kind: 'error'; readonly status?: number; readonly errorType?: string; readonly message?: string })
  /** Answer `ThrottlingException` (HTTP 400), as KMS does past a request quota. */
  | (FaultScope & { readonly kind: 'throttle' })
  /** Wait, then handle the request normally (a slow server; clients with a timeout give up). */
  | (FaultScope & { readonly kind: 'delay'; readonly ms: number })
  /** Close the connection without an answer (a crashed server or a broken network). */
  | (FaultScope & { readonly kind: 'reset' });

export interface FaultScope {
  /** How many requests the fault applies to (default 1; `Infinity` until cleared). */
  readonly count?: number;
  /** Operation names it applies to (`Encrypt`, `Decrypt`, …); default every operation. */
  readonly operations?: readonly string[];
}

/** The fault-injection hook of a running server. */
export interface KmsLocalFaults {
  /** Queues a fault; faults apply in the order they were queued. */
  inject(fault: KmsLocalFault): void;
  /** Drops every queued fault. */
  clear(): void;
  /** How many requests queued faults still apply to (`Infinity` if one is unbounded). */
  readonly pending: number;
}

interface QueuedFault {
  readonly fault: KmsLocalFault;
  remaining: number;
}

export class FaultQueue implements KmsLocalFaults {
  private queue: QueuedFault[] = [];

  inject(fault: KmsLocalFault): void {
    const count = fault.count ?? 1;
    if (!(count > 0)) throw new RangeError('fault count must be positive');
    if (fault.kind === 'delay' && !(fault.ms >= 0)) throw new RangeError('fault delay must be a non-negative number of ms');
    this.queue.push({ fault, remaining: count });
  }

  clear(): void {
    this.queue = [];
  }

  get pending(): number {
    return this.queue.reduce((sum, entry) => sum + entry.remaining, 0);
  }

  /** The fault for this request, if any (consumes one use). */
  take(operation: string): KmsLocalFault | undefined {
    const entry = this.queue.find((queued) => !queued.fault.operations || queued.fault.operations.includes(operation));
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.queue = this.queue.filter((queued) => queued !== entry);
    return entry.fault;
  }
}
