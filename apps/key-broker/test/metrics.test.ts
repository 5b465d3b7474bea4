// /metrics on brokers in this process: who may read it, what it counts, and that two brokers in one
// process keep their own registries (nothing global).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileIdentity, generateKey } from '@ovseal/key-file';
import { startKeyBroker, type KeyBroker } from '../src/index.js';
import { ADMIN_TOKEN, tempDir } from './helpers.js';

const METRICS_TOKEN = 'metrics-token-for-prometheus';

describe('broker metrics (in process)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let first: KeyBroker;
  let second: KeyBroker;

  beforeAll(async () => {
    work = await tempDir('ovseal-broker-metrics-');
    const options = { adminToken: ADMIN_TOKEN, identities: [new FileIdentity(generateKey())], logger: false as const };
    first = await startKeyBroker({ ...options, dataDir: join(work.path, 'one'), metricsToken: METRICS_TOKEN });
    second = await startKeyBroker({ ...options, dataDir: join(work.path, 'two') });
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await work?.remove();
  });

  const get = (broker: KeyBroker, path: string, token?: string) =>
    fetch(`${broker.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('answers the metrics token and admins, nobody else; the metrics token opens nothing else', async () => {
    expect((await get(first, '/metrics')).status).toBe(401);
    expect((await get(first, '/metrics', 'wrong-token-wrong-token')).status).toBe(401);
    expect((await get(first, '/metrics', METRICS_TOKEN)).status).toBe(200);
    expect((await get(first, '/metrics', ADMIN_TOKEN)).status).toBe(200);
    expect((await get(first, '/v1/admin/devices', METRICS_TOKEN)).status).toBe(401);
    expect((await get(second, '/metrics', METRICS_TOKEN)).status).toBe(401);
  });

  it('counts requests per broker, by route pattern and status; no process metrics unless asked', async () => {
    for (let index = 0; index < 3; index += 1) await get(first, '/healthz');
    await get(first, '/v1/nowhere');
    const text = await (await get(first, '/metrics', METRICS_TOKEN)).text();
    expect(text).toMatch(/ovseal_broker_http_requests_total\{route="\/healthz",method="GET",status="200"\} 3/);
    expect(text).toMatch(/ovseal_broker_http_requests_total\{route="unmatched",method="GET",status="404"\} 1/);
    expect(text).toMatch(/ovseal_broker_auth_failures_total\{reason="unauthenticated"\} [1-9]/);
    expect(text).not.toContain('process_cpu_seconds_total');
    const other = await (await get(second, '/metrics', ADMIN_TOKEN)).text();
    expect(other).not.toMatch(/route="\/healthz"/);
  });

  it('refuses a metrics token shorter than 16 characters', async () => {
    await expect(
      startKeyBroker({
        dataDir: join(work.path, 'three'),
        adminToken: ADMIN_TOKEN,
        identities: [new FileIdentity(generateKey())],
        logger: false,
        metricsToken: 'short',
      }),
    ).rejects.toMatchObject({ code: 'ERR_BROKER_CONFIG' });
  });
});
