// Test harness shared by the broker and edge-runner suites: real processes on loopback (the broker
// and runner binaries), kms-local, swtpm. Every process started here is stopped by stopAll() and,
// as a last resort, killed when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';
import { generateSigningKey, seal, type SealEntryInput } from '@ovseal/container';
import { kmsRecipientFromUri } from '@ovseal/key-kms';
import { checkSwtpmPrerequisites, startSwtpm, type SwtpmInstance } from '@ovseal/key-tpm/testing';
import { startKmsLocal, type KmsLocal } from '@ovseal/kms-local';
import { ocrModels } from '@ovseal/test-fixtures';
import { findPostgres, startPostgres, type TestPostgres } from '@ovseal/test-fixtures/postgres';

// The SDK warns about Node 20 on every first client; the tests run on Node 20 on purpose.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export const BROKER_BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const RUNNER_BIN = fileURLToPath(new URL('../../edge-runner/dist/bin.js', import.meta.url));
export const ADMIN_TOKEN = `test-admin-${randomBytes(16).toString('hex')}`;

/**
 * TPM suites need swtpm and tpm2-tools: without them they skip loudly with the install line —
 * except under OVSEAL_REQUIRE_ALL=1 (CI), where they run and fail.
 */
export const tpmPrerequisites = checkSwtpmPrerequisites();
const requireAll = process.env['OVSEAL_REQUIRE_ALL'] === '1';
export const skipTpm = !tpmPrerequisites.ok && !requireAll;
if (skipTpm) console.warn(`\n[ovseal apps] SKIPPING the fleet end-to-end tests (they need a software TPM): ${tpmPrerequisites.message}\n`);
export const describeWithTpm: typeof describe.skip = skipTpm ? describe.skip : describe;

export function assertTpm(): void {
  if (!tpmPrerequisites.ok) throw new Error(`OVSEAL_REQUIRE_ALL=1 and the fleet tests cannot run: ${tpmPrerequisites.message}`);
}

const children = new Set<ChildProcess>();
process.once('exit', () => children.forEach((child) => child.kill('SIGKILL')));

/** A child process that printed a JSON `ready` line. */
export interface Spawned {
  readonly child: ChildProcess;
  readonly ready: Record<string, unknown>;
  readonly url: string;
  /** Everything written on stderr so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 5 s. */
  close(): Promise<void>;
  /** SIGKILL at once (a crash). */
  kill(): Promise<void>;
}

export function runNode(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...quietSdk, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

const quietSdk = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

export async function spawnReady(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Spawned> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...quietSdk, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => (children.delete(child), resolve())));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs} ms: ${stderr.slice(-2000)}`)), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((text) => text.includes('"event":"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ready: ${stderr.slice(-2000)}`));
    });
  });
  const halt = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return { child, ready, url: String(ready['url']), stderr: () => stderr, close: () => halt('SIGTERM'), kill: () => halt('SIGKILL') };
}

/** kms-local in this process, with one key for models. */
export async function startKms(): Promise<{
  kms: KmsLocal;
  keyArn: string;
  env: Record<string, string>;
  clientOptions: { endpoint: string; region: string; credentials: KmsLocal['credentials'] };
}> {
  const kms = await startKmsLocal();
  const key = await kms.createKey({ alias: 'alias/models' });
  return {
    kms,
    keyArn: key.arn,
    env: {
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_REGION: kms.region,
      AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
    },
    clientOptions: { endpoint: kms.endpoint, region: kms.region, credentials: kms.credentials },
  };
}

/** The publisher every test model is signed by (edge runners trust only signed models). */
export const PUBLISHER = generateSigningKey();

/** Seals the PP-OCRv4 detector (+ labels) under the KMS key, signed by {@link PUBLISHER}. */
export async function sealDetector(
  output: string,
  kms: Awaited<ReturnType<typeof startKms>>,
  metadata: { version: string; notAfter?: Date; name?: string },
): Promise<string> {
  const entries: SealEntryInput[] = [
    { name: 'ch_PP-OCRv4_det_infer.onnx', role: 'onnx', path: ocrModels.detector },
    { name: 'ppocr_keys_v1.txt', role: 'aux', path: ocrModels.labels },
  ];
  await seal({
    output,
    entries,
    metadata: {
      name: metadata.name ?? 'ppocr-det',
      version: metadata.version,
      format: 'onnx',
      ...(metadata.notAfter ? { notAfter: metadata.notAfter } : {}),
    },
    recipients: [kmsRecipientFromUri(`aws-kms:${kms.keyArn}`, kms.clientOptions)],
    signer: PUBLISHER.privateKeyPem,
  });
  return output;
}

export interface BrokerProcess extends Spawned {
  readonly dataDir: string;
  readonly port: number;
}

/** The broker binary on a data dir (restart it on the same dir and port to test persistence). */
export async function spawnBroker(options: {
  dataDir: string;
  kms: Awaited<ReturnType<typeof startKms>>;
  port?: number;
  args?: readonly string[];
}): Promise<BrokerProcess> {
  const spawned = await spawnReady(
    [
      BROKER_BIN,
      '--data-dir',
      options.dataDir,
      '--identity',
      `aws-kms:${options.kms.keyArn}`,
      '--port',
      String(options.port ?? 0),
      ...(options.args ?? []),
    ],
    { ...options.kms.env, OVSEAL_BROKER_ADMIN_TOKEN: ADMIN_TOKEN },
  );
  return { ...spawned, dataDir: options.dataDir, port: Number(spawned.ready['port']) };
}

/** Admin API calls with the bearer token. */
export function admin(baseUrl: () => string, token = ADMIN_TOKEN) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const isBytes = body instanceof Uint8Array;
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': isBytes ? 'application/octet-stream' : 'application/json', ...headers },
      ...(body === undefined ? {} : { body: isBytes ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, any> };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => call('POST', path, body, headers),
  };
}

export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function newSwtpm(): Promise<SwtpmInstance> {
  assertTpm();
  return startSwtpm();
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * PostgreSQL suites need Debian's `postgresql` server binaries: without them they skip loudly with
 * the install line — except under OVSEAL_REQUIRE_ALL=1 (CI), where they run and fail.
 */
export const postgresPrerequisites = findPostgres();
export const skipPostgres = !postgresPrerequisites.ok && !requireAll;
if (skipPostgres)
  console.warn(`\n[ovseal apps] SKIPPING the PostgreSQL tests: ${(postgresPrerequisites as { message: string }).message}\n`);
export const describeWithPostgres: typeof describe.skip = skipPostgres ? describe.skip : describe;

/** A fresh PostgreSQL cluster (temporary directory, free port, unprivileged user). */
export async function newPostgres(): Promise<TestPostgres> {
  if (!postgresPrerequisites.ok)
    throw new Error(`OVSEAL_REQUIRE_ALL=1 and the PostgreSQL tests cannot run: ${postgresPrerequisites.message}`);
  return startPostgres();
}

/** A broker process on a PostgreSQL store (the URL goes through the environment, as in production). */
export async function spawnStoreBroker(options: {
  dataDir: string;
  storeUrl: string;
  identity: string;
  args?: readonly string[];
  env?: Record<string, string>;
}): Promise<BrokerProcess> {
  const spawned = await spawnReady(
    [
      BROKER_BIN,
      '--data-dir',
      options.dataDir,
      '--identity',
      options.identity,
      '--port',
      '0',
      '--rate-limit',
      '0',
      ...(options.args ?? []),
    ],
    { OVSEAL_BROKER_ADMIN_TOKEN: ADMIN_TOKEN, OVSEAL_BROKER_STORE: options.storeUrl, ...options.env },
  );
  return { ...spawned, dataDir: options.dataDir, port: Number(spawned.ready['port']) };
}

/** Every audit record, through the admin API's pages. */
export async function allAudit(api: ReturnType<typeof admin>): Promise<Record<string, any>[]> {
  const records: Record<string, any>[] = [];
  for (let after = 0; ;) {
    const page = await api.get(`/v1/admin/audit?after=${after}&limit=1000`);
    records.push(...page.body.records);
    if (page.body.records.length < 1000) return records;
    after = page.body.next;
  }
}
