import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RunnerMetrics } from './metrics.js';
import type { ModelManager, ServedModel } from './model-manager.js';
import type { RunnerLog } from './log.js';
import { decodeTensor, encodeTensor, TensorFormatError, type Tensor } from './tensor-json.js';

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new Refusal(413, 'body_too_large', `the body is limited to ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Refusal(413, 'body_too_large', `the body is limited to ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new Refusal(400, 'bad_json', 'the body must be a JSON object');
}

function describe(model: ServedModel) {
  return {
    id: model.id,
    name: model.name,
    version: model.version,
    runtime: model.runtime,
    engine: model.model.engine,
    notAfter: new Date(model.notAfter).toISOString(),
    source: model.source,
    inputs: model.model.inputNames,
    outputs: model.model.outputNames,
  };
}

export interface RunnerHttpOptions {
  readonly manager: ModelManager;
  readonly metrics: RunnerMetrics;
  readonly deviceId: string;
  readonly deviceKeyStorage: 'tpm' | 'file';
  readonly inferToken: string | undefined;
  readonly maxInferBytes: number;
  /** Where failures' details go (never to the client). */
  readonly log: RunnerLog;
}

/** `POST /v1/infer`, `GET /v1/models`, `GET /healthz`. */
export function createRunnerHandler(options: RunnerHttpOptions) {
  const tokenDigest = options.inferToken === undefined ? undefined : createHash('sha256').update(options.inferToken).digest();
  const { manager, metrics } = options;

  async function sendMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requireToken(req);
    metrics.modelsLoaded.set(manager.served.size);
    const text = await metrics.registry.metrics();
    res.writeHead(200, {
      'content-type': metrics.registry.contentType,
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
    });
    res.end(text);
  }

  function pickModel(name: unknown): ServedModel {
    if (name !== undefined && typeof name !== 'string') throw new Refusal(400, 'bad_request', '"model" is a model name');
    if (name === undefined) {
      if (manager.served.size === 1) return manager.served.values().next().value!;
      if (manager.served.size === 0) throw new Refusal(503, 'no_model', 'no model is being served (not granted yet, revoked, or expired)');
      throw new Refusal(400, 'bad_request', `several models are served: name one of ${[...manager.served.keys()].join(', ')}`);
    }
    const model = manager.served.get(name.split('@')[0]!);
    if (!model || (name.includes('@') && model.id !== name))
      throw new Refusal(503, 'model_unavailable', `${name} is not being served (not granted, revoked, or expired)`);
    return model;
  }

  /** With an inferToken, whether the request carries it (compared as digests, in constant time). */
  function authorized(req: IncomingMessage): boolean {
    if (!tokenDigest) return true;
    const given = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    return timingSafeEqual(createHash('sha256').update(given).digest(), tokenDigest);
  }

  function requireToken(req: IncomingMessage): void {
    if (!authorized(req)) throw new Refusal(401, 'unauthenticated', 'this route needs "Authorization: Bearer <inferToken>"');
  }

  async function infer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requireToken(req);
    const body = await readJson(req, options.maxInferBytes);
    const model = pickModel(body['model']);
    const rawInputs = body['inputs'];
    if (!rawInputs || typeof rawInputs !== 'object') throw new Refusal(400, 'bad_request', '"inputs" maps input names to tensors');
    const inputs: Record<string, Tensor> = {};
    let encoding: 'array' | 'base64' = 'array';
    try {
      for (const [name, value] of Object.entries(rawInputs)) {
        if (!model.model.inputNames.includes(name))
          throw new TensorFormatError(`the model has no input "${name}" (inputs: ${model.model.inputNames.join(', ')})`);
        inputs[name] = decodeTensor(name, value, options.maxInferBytes / 4);
        if (typeof (value as { base64?: unknown }).base64 === 'string') encoding = 'base64';
      }
    } catch (error) {
      throw new Refusal(400, 'bad_tensor', (error as Error).message);
    }
    if (body['outputEncoding'] === 'array' || body['outputEncoding'] === 'base64') encoding = body['outputEncoding'];
    model.inFlight++;
    let outputs: Record<string, Tensor>;
    const started = process.hrtime.bigint();
    try {
      outputs = await model.model.run(inputs);
    } catch (error) {
      // The runtime's message describes the model's internals: it goes to the log, not the client.
      options.log(`inference with ${model.id} failed: ${(error as Error).message.split('\n')[0]}`);
      throw new Refusal(
        422,
        'inference_failed',
        `${model.id} could not run on these inputs (check their names, types and shapes against GET /v1/models)`,
      );
    } finally {
      model.inFlight--;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    metrics.inference.observe({ model: model.name, runtime: model.runtime }, ms / 1000);
    send(res, 200, {
      model: model.id,
      runtime: model.runtime,
      engine: model.model.engine,
      ms: Math.round(ms * 10) / 10,
      outputs: Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, encodeTensor(tensor, encoding)])),
    });
  }

  function health(req: IncomingMessage, res: ServerResponse): void {
    const models = [...manager.served.values()].map(describe);
    const status = models.length > 0 ? 200 : 503;
    // Load balancers probe without the token: they get the status, and nothing about the device.
    if (!authorized(req)) return send(res, status, { status: models.length > 0 ? 'ok' : 'no_model' });
    send(res, status, {
      status: models.length > 0 ? 'ok' : 'no_model',
      deviceId: options.deviceId,
      deviceKey: options.deviceKeyStorage,
      broker: {
        ...manager.broker,
        lastSyncAt: manager.broker.lastSyncAt === null ? null : new Date(manager.broker.lastSyncAt).toISOString(),
      },
      models,
      problems: Object.fromEntries(manager.problems),
    });
  }

  const ROUTES = new Set(['/healthz', '/v1/models', '/v1/infer', '/metrics']);
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    let route = 'unmatched';
    try {
      const path = new URL(req.url ?? '/', 'http://runner.invalid').pathname;
      if (ROUTES.has(path)) route = path;
      if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) return health(req, res);
      if (path === '/v1/models' && req.method === 'GET') {
        requireToken(req);
        return send(res, 200, { models: [...manager.served.values()].map(describe) });
      }
      if (path === '/v1/infer' && req.method === 'POST') return await infer(req, res);
      if (path === '/metrics' && req.method === 'GET') return await sendMetrics(req, res);
      throw new Refusal(ROUTES.has(path) ? 405 : 404, 'not_found', 'routes: POST /v1/infer, GET /v1/models, GET /healthz, GET /metrics');
    } catch (error) {
      if (res.headersSent) return void res.destroy();
      if (error instanceof Refusal) send(res, error.status, { error: error.code, message: error.message });
      else send(res, 500, { error: 'internal', message: 'internal error' });
    } finally {
      metrics.requests.inc({ route, status: String(res.statusCode) });
      metrics.latency.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}
