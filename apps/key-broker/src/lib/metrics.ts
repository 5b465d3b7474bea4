import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Latency buckets in seconds: sub-millisecond loopback calls up to slow KMS round trips. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The broker's Prometheus metrics, on a registry of its own (nothing global: two brokers in one
 * process keep theirs apart). Labels are bounded sets — route patterns, status codes, refusal
 * codes — never a device or model id.
 */
export class BrokerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'ovseal_broker_http_requests_total',
    help: 'HTTP requests by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'ovseal_broker_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern and method',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly releases = new Counter({
    name: 'ovseal_broker_key_releases_total',
    help: 'Key releases: counted against a grant, or a repeated request answered again without counting',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: 'ovseal_broker_key_refusals_total',
    help: 'Refused key releases by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly enrolments = new Counter({
    name: 'ovseal_broker_enrolments_total',
    help: 'Enrolments without attestation, by outcome (ok or the refusal code)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'ovseal_broker_auth_failures_total',
    help: 'Failed authentications by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly storeErrors = new Counter({
    name: 'ovseal_broker_store_errors_total',
    help: 'Store failures: unavailable (503) or other (500)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /**
   * `processMetrics` adds Node's process metrics (CPU, memory, event loop lag, GC): they watch the
   * whole process and stay on for its life, so the command turns them on, a library caller decides.
   */
  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route, method }, seconds);
  }
}
