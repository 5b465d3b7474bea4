// Findings of the adversarial review about the edge runner (issue 10 items 3, 4 and 16) that need no
// TPM and no broker: a file device key, and small servers standing in for a broker (a hostile one,
// and an HTTPS one to pin).
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey } from '@ovseal/container';
import { BrokerClient, FileDeviceKey, loadRunnerConfig, startEdgeRunner, type EdgeRunner } from '../src/index.js';
import { ModelCache } from '../src/lib/model-cache.js';
import { edge, tempDir } from './helpers.js';

const run = promisify(execFile);

let work: Awaited<ReturnType<typeof tempDir>>;
let publisherPub: string;
beforeAll(async () => {
  work = await tempDir('ovseal-edge-hardening-');
  publisherPub = join(work.path, 'publisher.pem.pub');
  await writeFile(publisherPub, generateSigningKey().publicKeyPem);
});
afterAll(async () => work?.remove());

async function config(name: string, fields: Record<string, unknown>): Promise<string> {
  const path = join(work.path, `${name}.json`);
  const base = {
    deviceId: 'edge-h',
    brokerUrl: 'http://127.0.0.1:9',
    dataDir: `data-${name}`,
    deviceKey: { kind: 'file', path: 'device.pem' },
    trust: [publisherPub],
    listen: { host: '127.0.0.1', port: 0 },
    progress: 'never',
  };
  await writeFile(path, JSON.stringify({ ...base, ...fields }));
  return path;
}

describe('item 3: the runner trusts publishers and its broker explicitly', () => {
  it('refuses a config without a publisher trust anchor, with a hint', async () => {
    const error = await loadRunnerConfig(await config('no-trust', { trust: [] })).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_RUNNER_CONFIG',
      message: expect.stringMatching(/trust/),
      hint: expect.stringMatching(/publisher/),
    });
    await expect(loadRunnerConfig(await config('no-trust-2', { trust: undefined }))).rejects.toMatchObject({ code: 'ERR_RUNNER_CONFIG' });
  });

  it('refuses an http:// broker URL except on loopback', async () => {
    await expect(loadRunnerConfig(await config('http', { brokerUrl: 'http://broker.example.com:8640' }))).rejects.toMatchObject({
      code: 'ERR_RUNNER_CONFIG',
      message: expect.stringMatching(/https/),
    });
    await expect(loadRunnerConfig(await config('http-ip', { brokerUrl: 'http://10.0.0.5' }))).rejects.toMatchObject({
      code: 'ERR_RUNNER_CONFIG',
    });
    // Every broker of a list is held to it.
    await expect(
      loadRunnerConfig(await config('http-list', { brokerUrl: undefined, brokerUrls: ['https://a.example.com', 'http://b.example.com'] })),
    ).rejects.toMatchObject({ code: 'ERR_RUNNER_CONFIG', message: expect.stringMatching(/brokerUrls\[1\].*https/) });
    for (const url of ['http://127.0.0.1:8640', 'http://localhost:8640', 'http://[::1]:8640', 'https://broker.example.com']) {
      expect((await loadRunnerConfig(await config(`ok-${url.length}`, { brokerUrl: url }))).brokerUrls).toEqual([url]);
    }
  });

  describe("pinning the broker's certificate", () => {
    let server: Server;
    let base: string;
    let pin: string;
    const certs = () => join(work.path, 'tls');

    beforeAll(async () => {
      await mkdir(certs(), { recursive: true });
      await writeFile(join(certs(), 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
      await run(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          'broker.key',
          '-out',
          'broker.pem',
          '-days',
          '1',
          '-subj',
          '/CN=broker',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { cwd: certs() },
      );
      const cert = await readFile(join(certs(), 'broker.pem'));
      pin = `sha256//${createHash('sha256')
        .update(new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' }))
        .digest('base64')}`;
      server = createHttpsServer({ cert, key: await readFile(join(certs(), 'broker.key')) }, (_req, res) => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'device_revoked', message: 'reached the pinned broker' }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(async () => new Promise((resolve) => server.close(resolve)));

    it('reaches the broker whose key matches the pin (its own CA given), and refuses any other', async () => {
      const key = await FileDeviceKey.generate(join(work.path, 'pin-device.pem'));
      const ca = await readFile(join(certs(), 'broker.pem'), 'utf8');
      const pinned = new BrokerClient({ brokerUrls: [base], deviceId: 'edge-h', identity: key, tls: { ca, pin } });
      await expect(pinned.listModels()).rejects.toMatchObject({ code: 'ERR_BROKER_REFUSED', brokerCode: 'device_revoked' });
      const wrongPin = new BrokerClient({
        brokerUrls: [base],
        deviceId: 'edge-h',
        identity: key,
        tls: { ca, pin: `sha256//${Buffer.alloc(32).toString('base64')}` },
      });
      await expect(wrongPin.listModels()).rejects.toMatchObject({ code: 'ERR_BROKER_UNREACHABLE', message: expect.stringMatching(/pin/) });
      const unknownCa = new BrokerClient({ brokerUrls: [base], deviceId: 'edge-h', identity: key });
      await expect(unknownCa.listModels()).rejects.toMatchObject({ code: 'ERR_BROKER_UNREACHABLE' });
    });

    it('reads brokerCa and brokerPin from the config', async () => {
      await writeFile(join(work.path, 'broker-ca.pem'), await readFile(join(certs(), 'broker.pem')));
      const loaded = await loadRunnerConfig(await config('pinned', { brokerUrl: base, brokerCa: 'broker-ca.pem', brokerPin: pin }));
      expect(loaded.brokerTls).toEqual({ ca: await readFile(join(certs(), 'broker.pem'), 'utf8'), pin });
      await expect(loadRunnerConfig(await config('bad-pin', { brokerUrl: base, brokerPin: 'md5//abc' }))).rejects.toMatchObject({
        code: 'ERR_RUNNER_CONFIG',
      });
    });
  });
});

describe('item 4: model ids from the broker never become unsafe paths', () => {
  it('refuses ids that are not name@version before touching the disk; rollback.json survives', async () => {
    const dataDir = join(work.path, 'data-ids');
    await mkdir(join(dataDir, 'models'), { recursive: true });
    await writeFile(join(dataDir, 'rollback.json'), '{"det":"4.0.0"}');
    const cache = new ModelCache(dataDir);
    for (const id of ['..', '.', 'det@..', '../det@1', 'det@1/../..', 'det', '@1', 'det@1@2', 'a/b@1', '']) {
      await expect(cache.removeModel(id), id).rejects.toMatchObject({ code: 'ERR_BAD_MODEL_ID' });
      expect(() => cache.containerPath(id), id).toThrow(/model id/);
    }
    expect(await readFile(join(dataDir, 'rollback.json'), 'utf8')).toBe('{"det":"4.0.0"}');
    expect(cache.containerPath('det@4.0.0+cpu')).toBe(join(dataDir, 'models', 'det@4.0.0+cpu', 'container.ovseal'));
  });

  it('a key.json naming another model is ignored at start', async () => {
    const dataDir = join(work.path, 'data-keys');
    await mkdir(join(dataDir, 'models', 'det@1'), { recursive: true });
    await writeFile(
      join(dataDir, 'models', 'det@1', 'key.json'),
      JSON.stringify({
        model: '..',
        name: 'det',
        version: '1',
        notAfter: new Date(Date.now() + 60_000).toISOString(),
        fetchedAt: '',
        size: 1,
      }),
    );
    expect(await new ModelCache(dataDir).keys()).toEqual([]);
  });
});

describe('item 16: the inference server', () => {
  let runner: EdgeRunner | undefined;
  const lines: string[] = [];
  afterAll(async () => runner?.close());

  it('with inferToken set, /v1/models needs the token and /healthz tells nothing more than its status', async () => {
    await FileDeviceKey.generate(join(work.path, 'device.pem')).catch(() => undefined);
    runner = await startEdgeRunner(await loadRunnerConfig(await config('token', { inferToken: 'infer-token-0123456789' })), {
      log: (line) => lines.push(line),
    });
    const get = (path: string, token?: string) =>
      fetch(`${runner!.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    expect((await get('/v1/models')).status).toBe(401);
    expect((await get('/v1/models', 'wrong')).status).toBe(401);
    expect((await get('/v1/models', 'infer-token-0123456789')).status).toBe(200);
    const anonymous = await get('/healthz');
    expect(anonymous.status).toBe(503);
    expect(await anonymous.json()).toEqual({ status: 'no_model' });
    const full = (await (await get('/healthz', 'infer-token-0123456789')).json()) as Record<string, unknown>;
    expect(full).toMatchObject({ status: 'no_model', deviceId: 'edge-h' });
  });

  it('warns when it listens beyond loopback without a token', async () => {
    const warned: string[] = [];
    const open = await startEdgeRunner(await loadRunnerConfig(await config('open', { listen: { host: '0.0.0.0', port: 0 } })), {
      log: (line) => warned.push(line),
    });
    await open.close();
    expect(warned.some((line) => /WARNING.*0\.0\.0\.0.*inferToken/.test(line))).toBe(true);
    const quiet: string[] = [];
    const local = await startEdgeRunner(await loadRunnerConfig(await config('local', {})), { log: (line) => quiet.push(line) });
    await local.close();
    expect(quiet.some((line) => /inferToken/.test(line))).toBe(false);
  });

  it('enrol does not take the token on the command line (ps shows it): a file or stdin', async () => {
    const path = await config('enrol', {});
    const refused = await edge('enrol', '--config', path, '--token', 'ovs_enrol_secret');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--token-file/);
    expect(refused.stderr).not.toContain('ovs_enrol_secret');
    // With a token file it goes on to the broker (nothing listens here: unreachable, not a usage error).
    await writeFile(join(work.path, 'token.txt'), 'ovs_enrol_from_file\n', { mode: 0o600 });
    const fromFile = await edge('enrol', '--config', path, '--token-file', join(work.path, 'token.txt'));
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toMatch(/unreachable/);
  });
});
