import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKER_BIN, spawnReady, startKms, tempDir, type Spawned } from './helpers.js';

const run = promisify(execFile);

/** A new P-256 key without a passphrase, as `openssl req` takes it. */
const P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A CA, a server certificate for 127.0.0.1, an admin client certificate from the CA and one from elsewhere. */
async function makeCertificates(dir: string): Promise<void> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const selfSigned = (name: string, subject: string) =>
    openssl('req', '-x509', ...P256_KEY, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', subject);
  await selfSigned('ca', '/CN=ovseal test CA');
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const [name, extra] of [
    ['server', ['-extfile', 'server.ext']],
    ['admin', []],
  ] as const) {
    await openssl('req', ...P256_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      ...extra,
    );
  }
  await selfSigned('stranger', '/CN=stranger');
}

function get(url: string, options: { ca: Buffer; cert?: Buffer; key?: Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('key broker over TLS, admins by client certificate (mTLS)', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let kms: Awaited<ReturnType<typeof startKms>>;
  let broker: Spawned;
  const file = (name: string) => readFile(join(work.path, name));

  beforeAll(async () => {
    work = await tempDir('ovseal-broker-tls-');
    await makeCertificates(work.path);
    kms = await startKms();
    const { OVSEAL_BROKER_ADMIN_TOKEN: _unused, ...env } = { ...process.env, ...kms.env } as Record<string, string>;
    broker = await spawnReady(
      [
        BROKER_BIN,
        '--data-dir',
        join(work.path, 'broker'),
        '--identity',
        `aws-kms:${kms.keyArn}`,
        '--port',
        '0',
        '--tls-cert',
        join(work.path, 'server.pem'),
        '--tls-key',
        join(work.path, 'server.key'),
        '--admin-client-ca',
        join(work.path, 'ca.pem'),
      ],
      env,
    );
  });

  afterAll(async () => {
    await broker?.close();
    await kms?.kms.close();
    await work?.remove();
  });

  it('serves HTTPS and accepts an admin with a client certificate from the admin CA only', async () => {
    expect(broker.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const ca = await file('ca.pem');
    expect((await get(`${broker.url}/healthz`, { ca })).status).toBe(200);
    expect((await get(`${broker.url}/v1/admin/devices`, { ca })).status).toBe(401);
    expect(
      (await get(`${broker.url}/v1/admin/devices`, { ca, cert: await file('stranger.pem'), key: await file('stranger.key') })).status,
    ).toBe(401);
    const admin = await get(`${broker.url}/v1/admin/devices`, { ca, cert: await file('admin.pem'), key: await file('admin.key') });
    expect(admin.status).toBe(200);
    expect(JSON.parse(admin.body)).toEqual({ devices: [] });
  });
});
