import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { TrustPolicy } from '@ovseal/container';
import { EdgeRunnerError } from './errors.js';
import type { BrokerTls } from './lib/http-request.js';

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
      /** TPM remote attestation: the attestation key and the endorsement key it is proven with. */
      readonly attestation?: AttestationConfig;
    }
  | { readonly kind: 'file'; readonly path: string };

/** Where the device's attestation key and endorsement key (and its certificate) live in the TPM. */
export interface AttestationConfig {
  /** Persistent handle of the attestation key (default 0x81000200). */
  readonly akHandle: string;
  /** Persistent handle of the endorsement key (default 0x81010001, the RSA EK). */
  readonly ekHandle: string;
  /** NV index of the EK certificate (default 0x01c00002; the ECC P-256 EK's is 0x01c0000a). */
  readonly ekCertificateIndex: string;
}

/** The runner configuration, with defaults applied and paths made absolute. */
export interface RunnerConfig {
  readonly deviceId: string;
  /** The brokers of the deployment, in the order they are tried (`brokerUrls`, or one `brokerUrl`). */
  readonly brokerUrls: readonly string[];
  readonly dataDir: string;
  readonly deviceKey: DeviceKeyConfig;
  readonly listen: { readonly host: string; readonly port: number };
  readonly pollSeconds: number;
  readonly runtime: 'auto' | 'onnxruntime' | 'openvino';
  /** Publisher keys: only models signed by one of them are loaded. Required. */
  readonly trust: TrustPolicy;
  /** A CA and/or a public-key pin for the broker's certificate. */
  readonly brokerTls: BrokerTls | undefined;
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

function fail(message: string, hint?: string): never {
  throw new EdgeRunnerError('ERR_RUNNER_CONFIG', `config: ${message}`, hint === undefined ? undefined : { hint });
}

/** Loopback hosts, where plain http reaches no network. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A broker URL: https, or http on loopback only (a network would see and could answer every exchange). */
function brokerUrlOf(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') fail(`"${field}" must be a non-empty string`);
  const brokerUrl = value.replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(brokerUrl);
  } catch {
    fail(`"${field}" is an https URL`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) return brokerUrl;
  return fail(
    `"${field}" must be https:// (plain http only on loopback), not ${JSON.stringify(brokerUrl)}`,
    'serve the broker over TLS (--tls-cert/--tls-key); for a private CA set "brokerCa", and pin it with "brokerPin"',
  );
}

async function brokerTlsOf(raw: Record<string, unknown>, base: string): Promise<BrokerTls | undefined> {
  const caFile = raw['brokerCa'] === undefined ? undefined : str(raw, 'brokerCa');
  const pin = raw['brokerPin'] === undefined ? undefined : str(raw, 'brokerPin');
  if (pin !== undefined && !/^sha256\/\/[A-Za-z0-9+/]{43}=$/.test(pin))
    fail(
      '"brokerPin" is sha256// and the base64 SHA-256 of the broker certificate\'s public key (openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)',
    );
  const ca =
    caFile === undefined
      ? undefined
      : await readFile(resolve(base, caFile), 'utf8').catch((cause: Error) => fail(`cannot read "brokerCa" ${caFile}: ${cause.message}`));
  return ca === undefined && pin === undefined ? undefined : { ...(ca !== undefined ? { ca } : {}), ...(pin !== undefined ? { pin } : {}) };
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
    ...(key['attestation'] !== undefined && key['attestation'] !== false ? { attestation: attestationOf(key['attestation']) } : {}),
  };
}

/** `true` (the defaults) or `{ akHandle?, ekHandle?, ekCertificateIndex? }`. */
function attestationOf(raw: unknown): AttestationConfig {
  if (raw !== true && (raw === null || typeof raw !== 'object' || Array.isArray(raw)))
    fail('"deviceKey.attestation" is true or { "akHandle", "ekHandle", "ekCertificateIndex" }');
  const fields = raw === true ? {} : (raw as Record<string, unknown>);
  const hex = (field: string, fallback: string) => {
    const value = fields[field] ?? fallback;
    if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{1,8}$/.test(value)) fail(`"deviceKey.attestation.${field}" is a 0x… handle`);
    return value;
  };
  return {
    akHandle: hex('akHandle', '0x81000200'),
    ekHandle: hex('ekHandle', '0x81010001'),
    ekCertificateIndex: hex('ekCertificateIndex', '0x01c00002'),
  };
}

/**
 * `brokerUrls` (the brokers of one deployment, tried in turn) or `brokerUrl` (one); each https (http
 * on loopback only). One `brokerCa`/`brokerPin` applies to all of them.
 */
function brokerUrlsOf(raw: Record<string, unknown>): string[] {
  if ((raw['brokerUrls'] === undefined) === (raw['brokerUrl'] === undefined))
    fail('give "brokerUrl" (one broker) or "brokerUrls" (a list), not both');
  if (raw['brokerUrl'] !== undefined) return [brokerUrlOf(raw['brokerUrl'], 'brokerUrl')];
  const list = raw['brokerUrls'];
  if (!Array.isArray(list) || list.length === 0 || list.length > 16) fail('"brokerUrls" is a list of 1 to 16 broker URLs');
  return list.map((url, index) => brokerUrlOf(url, `brokerUrls[${index}]`));
}

/**
 * Reads the runner's JSON config file. Relative paths are relative to the file.
 *
 * ```json
 * { "deviceId": "edge-001", "brokerUrls": ["https://broker-a.example.com", "https://broker-b.example.com"], "dataDir": "/var/lib/ovseal-edge",
 *   "deviceKey": { "kind": "tpm", "type": "tpm-ecdh", "handle": "0x81000100", "tcti": "device:/dev/tpmrm0" },
 *   "trust": ["publisher.pem.pub"], "listen": { "host": "127.0.0.1", "port": 8650 }, "pollSeconds": 30, "runtime": "auto" }
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
  const brokerUrls = brokerUrlsOf(raw);
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
  if (!Array.isArray(trustFiles) || !trustFiles.every((file) => typeof file === 'string'))
    fail('"trust" is a list of publisher public key files');
  // The device's public key is public: without a publisher to trust, the runner would load any
  // model anyone sealed to it, from whoever answers at its broker URL.
  if (trustFiles.length === 0)
    fail(
      '"trust" names no publisher key: the runner loads only models signed by a publisher it trusts',
      'add the publisher public key (from `ovseal sign-keygen`): "trust": ["publisher.pem.pub"]',
    );
  const trust = {
    publicKeys: await Promise.all(
      trustFiles.map((file: string) =>
        readFile(isAbsolute(file) ? file : resolve(base, file), 'utf8').catch((cause: Error) =>
          fail(`cannot read the trusted key ${file}: ${cause.message}`),
        ),
      ),
    ),
  };
  const models = raw['models'];
  if (models !== undefined && (!Array.isArray(models) || !models.every((name) => typeof name === 'string')))
    fail('"models" is a list of model names');
  return {
    deviceId,
    brokerUrls,
    dataDir: resolve(base, str(raw, 'dataDir')),
    deviceKey: deviceKeyOf(raw['deviceKey'], base),
    listen: { host: typeof listen['host'] === 'string' ? listen['host'] : '127.0.0.1', port },
    pollSeconds,
    runtime,
    trust,
    brokerTls: await brokerTlsOf(raw, base),
    inferToken: typeof raw['inferToken'] === 'string' ? raw['inferToken'] : undefined,
    maxInferBytes: Number(raw['maxInferBytes'] ?? 64 * 1024 * 1024),
    models: models,
    rollbackProtection: raw['rollbackProtection'] !== false,
    progress,
  };
}
