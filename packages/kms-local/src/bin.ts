#!/usr/bin/env node
import { parseArgs } from 'node:util';

import { KMS_LOCAL_DEFAULTS } from './defaults.js';
import { startKmsLocal, type KmsLocalKey, type KmsLocalPrincipal } from './start-kms-local.js';

const USAGE = `Usage: kms-local [options]

A KMS-compatible server (JSON 1.1 protocol, SigV4) for tests and offline development.
NOT for production secrets: key material is stored unprotected in the state file.

Options:
  --host HOST              listen address (env KMS_LOCAL_HOST, default 127.0.0.1)
  --port PORT              listen port, 0 for a free one (env KMS_LOCAL_PORT, default 4599)
  --state FILE             persist keys and aliases in FILE (env KMS_LOCAL_STATE; default: memory only)
  --region REGION          region of keys made by --create-key (default us-east-1)
  --account ID             account of the default principal (default 111122223333)
  --principal AKID:SECRET[:ACCOUNT]
                           accepted credentials, repeatable (env KMS_LOCAL_PRINCIPALS, comma-separated;
                           default ${KMS_LOCAL_DEFAULTS.accessKeyId}:${KMS_LOCAL_DEFAULTS.secretAccessKey})
  --create-key ALIAS       create a key with this alias unless the alias exists, repeatable
  --admin                  enable the unauthenticated /__kms-local/ admin routes (fault injection)
  --json                   print one JSON line with the endpoint, credentials and keys
  -h, --help               show this help
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      state: { type: 'string' },
      region: { type: 'string' },
      account: { type: 'string' },
      principal: { type: 'string', multiple: true },
      'create-key': { type: 'string', multiple: true },
      admin: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const env = process.env;
  const port = Number(values.port ?? env['KMS_LOCAL_PORT'] ?? 4599);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port ${String(values.port)}`);
  const principalSpecs = values.principal ?? env['KMS_LOCAL_PRINCIPALS']?.split(',').filter(Boolean);
  const state = values.state ?? env['KMS_LOCAL_STATE'];
  const host = values.host ?? env['KMS_LOCAL_HOST'];

  const kms = await startKmsLocal({
    port,
    adminApi: values.admin ?? false,
    ...(host === undefined ? {} : { host }),
    ...(state === undefined ? {} : { stateFile: state }),
    ...(values.region === undefined ? {} : { region: values.region }),
    ...(values.account === undefined ? {} : { accountId: values.account }),
    ...(principalSpecs === undefined ? {} : { principals: principalSpecs.map(parsePrincipal) }),
  });

  const keys: KmsLocalKey[] = [];
  for (const alias of values['create-key'] ?? []) {
    keys.push(kms.describeKey(alias) ?? (await kms.createKey({ alias })));
  }

  const summary = {
    endpoint: kms.endpoint,
    port: kms.port,
    region: kms.region,
    accountId: kms.accountId,
    accessKeyId: kms.credentials.accessKeyId,
    secretAccessKey: kms.credentials.secretAccessKey,
    stateFile: kms.stateFile ?? null,
    keys: keys.map((key) => ({ arn: key.arn, aliases: key.aliases })),
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    process.stdout.write(
      [
        `kms-local listening on ${kms.endpoint} (region ${kms.region}, account ${kms.accountId})`,
        `  credentials: ${kms.credentials.accessKeyId} / ${kms.credentials.secretAccessKey}`,
        `  state: ${kms.stateFile ?? 'memory only (--state FILE to persist)'}`,
        ...keys.map((key) => `  key: ${key.arn} ${key.aliases.join(' ')}`),
        '  dev/test server: do not use it for production secrets',
        '',
      ].join('\n'),
    );
  }

  const shutdown = (): void => {
    kms.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

function parsePrincipal(spec: string): KmsLocalPrincipal {
  const [accessKeyId, secretAccessKey, accountId] = spec.split(':');
  if (!accessKeyId || !secretAccessKey) throw new Error(`invalid principal ${JSON.stringify(spec)}: expected AKID:SECRET[:ACCOUNT]`);
  return { accessKeyId, secretAccessKey, ...(accountId ? { accountId } : {}) };
}

main().catch((error: unknown) => {
  process.stderr.write(`kms-local: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
