import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LOAD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * The runner's Prometheus metrics on a registry of its own. Labels are bounded: routes, statuses,
 * runtimes, the configured model names and broker URLs.
 */
export class RunnerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'ovseal_edge_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'ovseal_edge_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly inference = new Histogram({
    name: 'ovseal_edge_inference_duration_seconds',
    help: 'Inference time in the runtime, by model name and runtime',
    labelNames: ['model', 'runtime'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly modelsLoaded = new Gauge({ name: 'ovseal_edge_models_loaded', help: 'Models being served', registers: [this.registry] });
  readonly modelLoads = new Counter({
    name: 'ovseal_edge_model_loads_total',
    help: 'Model loads by source (cache or broker) and outcome',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly modelLoadTime = new Histogram({
    name: 'ovseal_edge_model_load_seconds',
    help: 'Time to decrypt a sealed model in memory and load it into its runtime',
    labelNames: ['runtime'] as const,
    buckets: LOAD_BUCKETS,
    registers: [this.registry],
  });
  readonly keyFetches = new Counter({
    name: 'ovseal_edge_key_fetches_total',
    help: 'Key requests to the broker by outcome (ok, or the refusal code)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly brokerRequests = new Counter({
    name: 'ovseal_edge_broker_requests_total',
    help: 'Requests to each broker by outcome (ok, refused, unavailable)',
    labelNames: ['broker', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly failovers = new Counter({
    name: 'ovseal_edge_broker_failovers_total',
    help: 'Times a broker request moved on to the next broker of the list',
    registers: [this.registry],
  });

  /** `processMetrics`: Node's process metrics (process-wide, so only the command turns them on). */
  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
