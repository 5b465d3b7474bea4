// Unwrap throughput of @ovseal/key-kms through the real SDK against an in-process kms-local.
// Usage: pnpm --filter @ovseal/key-kms build && node packages/key-kms/bench/unwrap.mjs [count]
// It measures kms-local + SDK + signing on this machine, not AWS KMS (whose latency is network-bound).
import { createWrapContext } from '@ovseal/container';
import { startKmsLocal } from '@ovseal/kms-local';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { KmsIdentity, KmsRecipient } from '../dist/index.js';

const count = Number(process.argv[2] ?? 500);
const kms = await startKmsLocal();
const key = await kms.createKey();
const options = { endpoint: kms.endpoint, region: kms.region, credentials: kms.credentials };
const context = createWrapContext({ containerId: randomBytes(16), modelName: 'bench', modelVersion: '1' });
const stanzas = await new KmsRecipient(key.arn, options).wrap(randomBytes(32), context);

async function run(label, identity, concurrency) {
  await identity.unwrap(stanzas, context); // warm-up: connection, signing key, cache fill
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        await identity.unwrap(stanzas, context);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${label.padEnd(34)} ${String(count).padStart(6)} unwraps  ${(count / seconds).toFixed(0).padStart(7)} /s  ${((seconds / count) * 1000).toFixed(3)} ms each`,
  );
}

await run('Decrypt, sequential', new KmsIdentity(key.arn, options), 1);
await run('Decrypt, 8 concurrent', new KmsIdentity(key.arn, options), 8);
await run('cache hit (ttl 5 min, 1e9 uses)', new KmsIdentity(key.arn, { ...options, cache: { maxUses: 1e9 } }), 1);
await kms.close();
