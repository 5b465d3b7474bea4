#!/usr/bin/env node
// Keys that never leave hardware (`pnpm bench:keys`): latency of a data-key wrap, an unwrap and a
// publisher signature in SoftHSM2 (@ovseal/key-pkcs11: AES-KWP, RSA-OAEP, ECDSA P-256, Ed25519) and
// in kms-local through the AWS SDK (@ovseal/key-kms: Encrypt, Decrypt, Sign) — median and p95 of N
// calls — beside the same operations with a key in process memory (key-file, a local signer),
// measured in the same run, as a ratio. kms-local runs in this process on loopback: its figures
// are the SDK's request path (SigV4, HTTP, JSON), not AWS's network round trip.
//
// Options: --runs N (default 200), --json. Exits 2 if SoftHSM2 or pkcs11-tool is missing.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (pkg) => pathToFileURL(join(root, 'packages', pkg, 'dist', 'index.js')).href;

const args = process.argv.slice(2);
const runs = (() => {
  const index = args.indexOf('--runs');
  return index === -1 ? 200 : Number(args[index + 1]);
})();
const asJson = args.includes('--json');

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

/** Median and p95 of `runs` sequential calls, after a few warm-up calls. */
async function measure(operation) {
  for (let i = 0; i < 5; i++) await operation(i);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await operation(i);
    times.push(performance.now() - start);
  }
  return { medianMs: percentile(times, 50), p95Ms: percentile(times, 95) };
}

async function main() {
  const container = await import(dist('container'));
  const pkcs11 = await import(dist('key-pkcs11'));
  const kmsProvider = await import(dist('key-kms'));
  const { startKmsLocal } = await import(dist('kms-local'));
  const { FileRecipient, FileIdentity, generateKey } = await import(dist('key-file'));

  const prerequisites = pkcs11.checkSoftHsmPrerequisites();
  if (!prerequisites.ok) {
    console.error(`bench:keys: ${prerequisites.message}`);
    process.exit(2);
  }

  const context = container.createWrapContext({ containerId: randomBytes(16), modelName: 'bench', modelVersion: '1' });
  const dataKey = randomBytes(32);
  const message = randomBytes(600); // about the signed part of a header with a few entries
  const rows = [];
  const row = (provider, operation, figures, baseline) =>
    rows.push({ provider, operation, ...figures, ratio: baseline ? figures.medianMs / baseline.medianMs : 1 });

  // Baselines: keys in process memory.
  const kek = generateKey();
  const fileRecipient = new FileRecipient(kek);
  const fileIdentity = new FileIdentity(kek);
  const fileStanzas = await fileRecipient.wrap(dataKey, context);
  const local = {
    wrap: await measure(() => fileRecipient.wrap(dataKey, context)),
    unwrap: await measure(() => fileIdentity.unwrap(fileStanzas, context)),
  };
  row('in memory (key-file)', 'wrap', local.wrap);
  row('in memory (key-file)', 'unwrap', local.unwrap);
  const localSign = {};
  for (const algorithm of ['ecdsa-p256', 'ed25519']) {
    const signer = container.createLocalSigner(container.generateSigningKey(algorithm).privateKeyPem);
    localSign[algorithm] = await measure(() => signer.sign(message));
    row('in memory (local key)', `sign ${algorithm}`, localSign[algorithm]);
  }

  // SoftHSM2: keys made by pkcs11-tool in a fresh token.
  const token = await pkcs11.createSoftHsmToken({ label: 'bench' });
  process.env.SOFTHSM2_CONF = token.configFile;
  try {
    await token.pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', 'kek', '--usage-wrap']);
    await token.pkcs11Tool(['--keypairgen', '--key-type', 'rsa:2048', '--label', 'rsa', '--usage-wrap', '--usage-decrypt']);
    await token.pkcs11Tool(['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'p256', '--usage-sign']);
    await token.pkcs11Tool(['--keypairgen', '--key-type', 'EC:edwards25519', '--label', 'ed', '--usage-sign']);
    for (const [label, name] of [
      ['kek', 'AES-KWP'],
      ['rsa', 'RSA-2048-OAEP'],
    ]) {
      const recipient = await pkcs11.Pkcs11Recipient.open(token.uri({ object: label }));
      const identity = pkcs11.Pkcs11Identity.fromUri(token.uri({ object: label }));
      const stanzas = await recipient.wrap(dataKey, context);
      row(`SoftHSM2 ${name}`, 'wrap', await measure(() => recipient.wrap(dataKey, context)), local.wrap);
      row(`SoftHSM2 ${name}`, 'unwrap', await measure(() => identity.unwrap(stanzas, context)), local.unwrap);
      await recipient.close();
      await identity.close();
    }
    for (const [label, algorithm] of [
      ['p256', 'ecdsa-p256'],
      ['ed', 'ed25519'],
    ]) {
      const signer = await pkcs11.Pkcs11Signer.open(token.uri({ object: label }));
      row('SoftHSM2', `sign ${algorithm}`, await measure(() => signer.sign(message)), localSign[algorithm]);
      await signer.close();
    }
  } finally {
    await token.remove();
  }

  // kms-local through the AWS SDK.
  const kms = await startKmsLocal();
  try {
    const options = { endpoint: kms.endpoint, region: kms.region, credentials: kms.credentials };
    const wrapping = await kms.createKey();
    const signing = await kms.createKey({ keySpec: 'ECC_NIST_P256' });
    const recipient = new kmsProvider.KmsRecipient(wrapping.arn, options);
    const identity = new kmsProvider.KmsIdentity(wrapping.arn, options);
    const signer = await kmsProvider.KmsSigner.create(signing.arn, options);
    const stanzas = await recipient.wrap(dataKey, context);
    row('kms-local (SDK, loopback)', 'wrap (Encrypt)', await measure(() => recipient.wrap(dataKey, context)), local.wrap);
    row('kms-local (SDK, loopback)', 'unwrap (Decrypt)', await measure(() => identity.unwrap(stanzas, context)), local.unwrap);
    row('kms-local (SDK, loopback)', 'sign ecdsa-p256 (Sign)', await measure(() => signer.sign(message)), localSign['ecdsa-p256']);
    await recipient.close();
    await identity.close();
    await signer.close();
  } finally {
    await kms.close();
  }

  if (asJson) {
    console.log(JSON.stringify({ runs, rows }, null, 2));
    return;
  }
  console.log(
    `bench:keys — ${runs} sequential calls each, median / p95 in ms; ratio = median / the in-memory median of the same operation, same run (shared, noisy machine)`,
  );
  console.log('provider'.padEnd(28), 'operation'.padEnd(24), 'median'.padStart(9), 'p95'.padStart(9), 'ratio'.padStart(9));
  for (const r of rows) {
    console.log(
      r.provider.padEnd(28),
      r.operation.padEnd(24),
      r.medianMs.toFixed(3).padStart(9),
      r.p95Ms.toFixed(3).padStart(9),
      `${r.ratio.toFixed(1)}x`.padStart(9),
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
