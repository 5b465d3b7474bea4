#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { text as streamText } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { BrokerClient } from './broker-client.js';
import { loadRunnerConfig, type RunnerConfig } from './load-runner-config.js';
import { createDeviceKey, openDeviceKey, type DeviceKey } from './open-device-key.js';
import { startEdgeRunner } from './start-edge-runner.js';
import { cachedKeyOf, ModelCache } from './lib/model-cache.js';

const USAGE = `Usage: ovseal-edge <command> --config FILE [options]

The ovseal edge runner (README: apps/edge-runner/README.md).

Commands:
  init        create the device key (in the TPM, or a file key with deviceKey.kind "file") and print its public key
  public-key  print the device public key (--json: the body of POST /v1/admin/devices)
  enrol       register this device with the broker: --token-file FILE (- for stdin), or env
              OVSEAL_ENROL_TOKEN (removed from the environment once read)
  run         serve: POST /v1/infer, GET /healthz; prints {"event":"ready",…} on stdout; stops on SIGTERM/SIGINT
  fetch-key   request one model's key now and cache it: --model NAME@VERSION

Options:
  --config FILE   the runner config (JSON)
  --json          machine-readable output
  -h, --help      show this help
`;

/** The enrolment token from a file, stdin (`-`) or the environment (then removed from it), never the command line. */
async function readEnrolmentToken(file: string | undefined): Promise<string | undefined> {
  if (file !== undefined) {
    const text = file === '-' ? await streamText(process.stdin) : await readFile(file, 'utf8');
    return text.trim() || undefined;
  }
  const token = process.env['OVSEAL_ENROL_TOKEN'];
  delete process.env['OVSEAL_ENROL_TOKEN'];
  return token || undefined;
}

function warnIfFile(key: DeviceKey): void {
  if (key.storage === 'file') process.stderr.write('ovseal-edge: WARNING: the device key is a FILE, not a TPM key (development only)\n');
}

/** The broker client of the one-shot commands (enrol, fetch-key): no metrics, no failover log. */
function brokerClient(config: RunnerConfig, key: DeviceKey): BrokerClient {
  return new BrokerClient({
    brokerUrls: config.brokerUrls,
    deviceId: config.deviceId,
    identity: key.identity,
    tls: config.brokerTls,
    attestation: key.attestation,
  });
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      model: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  if (!values.config) {
    process.stderr.write(`ovseal-edge: error: --config is required\n\n${USAGE}`);
    return 2;
  }
  const config = await loadRunnerConfig(values.config);
  switch (command) {
    case 'init':
    case 'public-key': {
      const key = command === 'init' ? await createDeviceKey(config.deviceKey) : await openDeviceKey(config.deviceKey);
      warnIfFile(key);
      if (values.json)
        process.stdout.write(
          `${JSON.stringify({ id: config.deviceId, keyType: key.keyType, keyId: key.keyId, publicKeyPem: key.publicKeyPem })}\n`,
        );
      else
        process.stdout.write(
          `device ${config.deviceId}: ${key.keyType} key ${key.keyId} (${key.storage})${key.attestation ? `; attestation key ${key.attestation.akName}` : ''}\n${key.publicKeyPem}`,
        );
      return 0;
    }
    case 'enrol': {
      if (values.token !== undefined) {
        // Anyone on the machine sees a command line (ps): the token must not be on it.
        process.stderr.write(
          'ovseal-edge: error: --token would show the enrolment token to every user of this machine (ps)\novseal-edge: hint: pass --token-file FILE (or - to read it from stdin), or set OVSEAL_ENROL_TOKEN\n',
        );
        return 2;
      }
      const token = await readEnrolmentToken(values['token-file']);
      if (!token) {
        process.stderr.write('ovseal-edge: error: enrol needs --token-file FILE (or - for stdin), or OVSEAL_ENROL_TOKEN\n');
        return 2;
      }
      const key = await openDeviceKey(config.deviceKey);
      warnIfFile(key);
      const client = brokerClient(config, key);
      const device = await client.enrol(token, key);
      const attested = key.attestation ? '; attested: EK and attestation key proven by a credential challenge' : '';
      process.stdout.write(
        values.json
          ? `${JSON.stringify(device)}\n`
          : `enrolled ${device.id} (key ${device.keyId}; labels: ${device.labels.join(', ') || 'none'}${attested})\n`,
      );
      return 0;
    }
    case 'fetch-key': {
      if (!values.model) {
        process.stderr.write('ovseal-edge: error: fetch-key needs --model NAME@VERSION\n');
        return 2;
      }
      const key = await openDeviceKey(config.deviceKey);
      const client = brokerClient(config, key);
      const release = await client.requestKey(values.model);
      const cache = new ModelCache(config.dataDir);
      const previous = await cache.readKey(release.model);
      await cache.writeKey(cachedKeyOf(release, { size: previous?.size ?? 0, etag: previous?.etag ?? null }));
      process.stdout.write(
        values.json
          ? `${JSON.stringify({ model: release.model, stanzaType: release.stanza.type, notAfter: release.notAfter, releasesLeft: release.releasesLeft })}\n`
          : `key for ${release.model} released (${release.stanza.type} stanza, not after ${release.notAfter}, ${release.releasesLeft} left)\n`,
      );
      return 0;
    }
    case 'run': {
      const runner = await startEdgeRunner(config, { processMetrics: true });
      process.stdout.write(
        `${JSON.stringify({ event: 'ready', url: runner.url, port: runner.port, deviceId: config.deviceId, deviceKey: runner.deviceKey.storage, pid: process.pid })}\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => void runner.close().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      return 0;
    }
    default:
      process.stderr.write(`ovseal-edge: error: unknown command ${command}\n\n${USAGE}`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error & { code?: string; hint?: string; brokerCode?: string }) => {
    process.stderr.write(`ovseal-edge: error: ${error.message}\n${error.hint ? `ovseal-edge: hint: ${error.hint}\n` : ''}`);
    process.exit(error.code === 'ERR_BROKER_REFUSED' ? 3 : 1);
  },
);
