#!/usr/bin/env node
// `pnpm fuzz`: the header fuzz target of packages/container/test/fuzz.test.ts, run far longer.
//   node scripts/fuzz.mjs [--iterations N (default 2 000 000)] [--seed S (default: random)]
// Every case must end in a result or a typed OvsealError. Failing cases (seed, index, first 4 KiB
// of the mutated bytes) are written to fuzz-failures.json; the exit code is 1 when there is any.
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FileIdentity, FileRecipient, generateKey } from '../packages/key-file/dist/index.js';
import { fuzzHeaders, seedContainers } from '../packages/container/test/fuzz/header-fuzz.mjs';

const { values } = parseArgs({ options: { iterations: { type: 'string' }, seed: { type: 'string' } } });
const iterations = Number(values.iterations ?? 2_000_000);
const seed = Number(values.seed ?? randomInt(2 ** 31));
const key = generateKey();
const seeds = await seedContainers({ recipient: new FileRecipient(key), extraRecipient: new FileRecipient(generateKey()) });
const started = Date.now();
const startRss = process.memoryUsage.rss();
console.log(`header fuzz: ${iterations} cases, seed ${seed} (replay with --seed ${seed})`);
const result = await fuzzHeaders({
  seeds,
  identity: new FileIdentity(key),
  iterations,
  seed,
  onProgress(index) {
    if (index % 100_000 === 0 && index > 0)
      console.log(
        `  ${index} cases, ${((Date.now() - started) / 1000).toFixed(0)} s, RSS ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB`,
      );
  },
});
console.log(`outcomes: ${JSON.stringify(result.outcomes)}`);
console.log(`peak RSS +${((result.peakRss - startRss) / 2 ** 20).toFixed(0)} MiB over ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (result.failures.length > 0) {
  writeFileSync('fuzz-failures.json', JSON.stringify({ seed, failures: result.failures }, null, 2));
  console.error(`${result.failures.length} case(s) ended in an untyped error: fuzz-failures.json`);
  process.exitCode = 1;
} else {
  console.log('every case ended in a result or a typed OvsealError');
}
