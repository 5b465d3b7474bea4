import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { TrustPolicy } from '@ovseal/container';
import { EdgeRunnerError } from './errors.js';

/** Where the device key lives: in a TPM (a persistent handle or a key directory), or in a file (no TPM). */
export type DeviceKeyConfig =
  | {
      readonly kind: 'tpm';
      readonly type: 'tpm-ecdh' | 'tpm-rsa';
      readonly keyDir?: string;
      readonly handle?: string;
      /** tpm2-tools TCTI (`device:/dev/tpmrm0`, `swtpm:host=127.0.0.1,port=2321`); default `$TPM2TOOLS_TCTI`. */
      readonly tcti?: string;
      readonly pcrs?: string;
    }
  | { readonly kind: 'file'; readonly path: string };

/** The runner configuration, with defaults applied and paths made absolute. */
export interface RunnerConfig {
  readonly deviceId: string;
  readonly brokerUrl: string;
  readonly dataDir: string;
  readonly deviceKey: DeviceKeyConfig;
  readonly listen: { readonly host: string; readonly port: number };
  readonly pollSeconds: number;
  readonly runtime: 'auto' | 'onnxruntime' | 'openvino';
  readonly trust: TrustPolicy | undefined;
  /** Bearer token `POST /v1/infer` requires; none by default (listen on loopback then). */
  readonly inferToken: string | undefined;
  readonly maxInferBytes: number;
  /** Model names to run (default: every model granted). */
  readonly models: readonly string[] | undefined;
  /** Refuse a model version older than one already run (default true). */
  readonly rollbackProtection: boolean;
  /** Download progress bar: on a terminal only (`auto`), `always` or `never`. */
  readonly progress: 'auto' | 'always' | 'never';
}

function fail(message: string): never {
  throw new EdgeRunnerError('ERR_RUNNER_CONFIG', `config: ${message}`);
}

function str(raw: Record<string, unknown>, field: string, fallback?: string): string {
  const value = raw[field] ?? fallback;
  if (typeof value !== 'string' || value === '') fail(`"${field}" must be a non-empty string`);
  return value;
}

function deviceKeyOf(raw: unknown, base: string): DeviceKeyConfig {
  const key = (raw ?? {}) as Record<string, unknown>;
  if (key['kind'] === 'file') return { kind: 'file', path: resolve(base, str(key, 'path')) };
  if (key['kind'] !== 'tpm') fail('"deviceKey.kind" is "tpm" or "file"');
  const type = key['type'] ?? 'tpm-ecdh';
  if (type !== 'tpm-ecdh' && type !== 'tpm-rsa') fail('"deviceKey.type" is "tpm-ecdh" or "tpm-rsa"');
  if ((key['keyDir'] === undefined) === (key['handle'] === undefined)) fail('"deviceKey" names one of "keyDir" or "handle"');
  return {
    kind: 'tpm',
    type,
    ...(key['keyDir'] !== undefined ? { keyDir: resolve(base, str(key, 'keyDir')) } : { handle: str(key, 'handle') }),
    ...(key['tcti'] !== undefined ? { tcti: str(key, 'tcti') } : {}),
    ...(key['pcrs'] !== undefined ? { pcrs: str(key, 'pcrs') } : {}),
  };
}

/**
 * Reads the runner's JSON config file. Relative paths are relative to the file.
 *
 * ```json
 * { "deviceId": "edge-001", "brokerUrl": "https://broker.example.com", "dataDir": "/var/lib/ovseal-edge",
 *   "deviceKey": { "kind": "tpm", "type": "tpm-ecdh", "handle": "0x81000100", "tcti": "device:/dev/tpmrm0" },
 *   "listen": { "host": "127.0.0.1", "port": 8650 }, "pollSeconds": 30, "runtime": "auto" }
 * ```
 *
 * @example
 * ```ts
 * const config = await loadRunnerConfig('/etc/ovseal/edge.json');
 * const runner = await startEdgeRunner(config);
 * ```
 */
export async function loadRunnerConfig(path: string): Promise<RunnerConfig> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new EdgeRunnerError('ERR_RUNNER_CONFIG', `cannot read the config ${path}: ${(cause as Error).message}`, { cause });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('the file must hold a JSON object');
  const base = dirname(resolve(path));
  const deviceId = str(raw, 'deviceId');
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(deviceId)) fail('"deviceId" is 1-128 characters of [A-Za-z0-9._:-]');
  const brokerUrl = str(raw, 'brokerUrl').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(brokerUrl)) fail('"brokerUrl" is an http(s) URL');
  const listen = (raw['listen'] ?? {}) as Record<string, unknown>;
  const port = Number(listen['port'] ?? 8650);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('"listen.port" is a port number');
  const pollSeconds = Number(raw['pollSeconds'] ?? 30);
  if (!(pollSeconds > 0)) fail('"pollSeconds" is a positive number');
  const runtime = raw['runtime'] ?? 'auto';
  if (runtime !== 'auto' && runtime !== 'onnxruntime' && runtime !== 'openvino') fail('"runtime" is auto, onnxruntime or openvino');
  const progress = raw['progress'] ?? 'auto';
  if (progress !== 'auto' && progress !== 'always' && progress !== 'never') fail('"progress" is auto, always or never');
  const trustFiles = raw['trust'] ?? [];
  if (!Array.isArray(trustFiles) || !trustFiles.every((file) => typeof file === 'string')) fail('"trust" is a list of publisher public key files');
  const trust = trustFiles.length > 0 ? { publicKeys: await Promise.all(trustFiles.map((file: string) => readFile(isAbsolute(file) ? file : resolve(base, file), 'utf8'))) } : undefined;
  const models = raw['models'];
  if (models !== undefined && (!Array.isArray(models) || !models.every((name) => typeof name === 'string'))) fail('"models" is a list of model names');
  return {
    deviceId,
    brokerUrl,
    dataDir: resolve(base, str(raw, 'dataDir')),
    deviceKey: deviceKeyOf(raw['deviceKey'], base),
    listen: { host: typeof listen['host'] === 'string' ? listen['host'] : '127.0.0.1', port },
    pollSeconds,
    runtime,
    trust,
    inferToken: typeof raw['inferToken'] === 'string' ? raw['inferToken'] : undefined,
    maxInferBytes: Number(raw['maxInferBytes'] ?? 64 * 1024 * 1024),
    models: models as string[] | undefined,
    rollbackProtection: raw['rollbackProtection'] !== false,
    progress,
  };
}
