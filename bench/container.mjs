#!/usr/bin/env node
/**
 * Container payload benchmark: seal, open (file, bytes, stream), verify, rewrap, a sweep of worker
 * settings from 1 MiB to the full size and a segment-size sweep, on a synthetic weights file. The
 * physical limit an open is measured against is reading the same plaintext file into fresh memory
 * in the same run (page faults included); `openssl speed` (multi-core AES-256-GCM on cache-resident
 * blocks) is the crypto-only reference, and the AWS Encryption SDK for JavaScript the competitor.
 *
 *   pnpm bench                         # 1 GiB (builds first; runs node with --expose-gc)
 *   node --expose-gc bench/container.mjs --size 256M --runs 3
 *   node --expose-gc bench/container.mjs --json    # one JSON object on stdout
 *
 * Options: --size <n[K|M|G]> (default 1G)  --runs <n> (timed repetitions, default 5)
 *          --sweep-size <n> (segment sweep, default min(size, 256M))  --aws-size <n> (default min(size, 128M))
 *          --openssl-seconds <n> (default 3)  --no-sweep  --no-worker-sweep  --no-aws  --json
 *
 * The machine may be shared: every throughput is the median of the runs (best in brackets), the
 * process CPU time per GiB is printed next to it (it is much less sensitive to other load than
 * wall time), and the load average is reported. Never gate tests on these numbers.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuBreakdown, median, opensslSpeed, printBreakdown, runNode, writeRandomFile } from './common.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const container = await import(join(here, '../packages/container/dist/index.js'));
const keyFile = await import(join(here, '../packages/key-file/dist/index.js'));
const { seal, open, verify, rewrap } = container;
const { FileRecipient, FileIdentity, generateKey } = keyFile;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// Collect garbage between runs, so one run's 1 GiB does not burden the next, and give the kernel
// a moment to take the freed memory back (that work would otherwise land in the next run). `pnpm
// bench` starts node with --expose-gc; without it, runs only pause.
const gc = globalThis.gc ?? (() => {});
if (!globalThis.gc && !process.argv.includes('--child'))
  console.error('bench: node was started without --expose-gc; runs are not separated by a GC');
const settle = async (ms = 300) => {
  gc();
  await new Promise((resolve) => setTimeout(resolve, ms));
};

function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(String(text).trim());
  if (!match) throw new Error(`not a size: ${text} (e.g. 256M, 1G)`);
  const unit = { '': 1, k: 1024, m: MiB, g: GiB }[match[2].toLowerCase()];
  return Math.round(Number(match[1]) * unit);
}

const formatBytes = (n) =>
  n >= GiB && n % GiB === 0 ? `${n / GiB} GiB` : n >= MiB ? `${+(n / MiB).toFixed(1)} MiB` : `${+(n / 1024).toFixed(1)} KiB`;
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);

// ---------------------------------------------------------------------------------------------
// Child processes: peak RSS of an open, and the AWS Encryption SDK (its memory stays out of ours).

/**
 * One timed load in a fresh process, as a device does it: `read` reads the plaintext file with
 * readFile (the physical limit), `file`, `bytes` and `stream` open the sealed one. A process that
 * has already allocated and freed gigabytes pays differently for fresh memory (measured: 1.8
 * CPU-s per GiB for the same open in the benchmark's own process, 1.1 in a fresh one).
 */
async function childTimed(kind, path, workers) {
  const key = Buffer.from(process.env.OVSEAL_BENCH_KEY ?? '', 'hex');
  const input = kind === 'stream' ? createReadStream(path) : kind === 'bytes' ? readFileSync(path) : path;
  const since = process.cpuUsage();
  const t0 = performance.now();
  if (kind === 'read') await readFile(path);
  else await openOnce(input, [new FileIdentity(key)], { workers: workers === 'default' ? undefined : Number(workers) });
  const ms = performance.now() - t0;
  const used = process.cpuUsage(since);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

async function childOpenRss(path, source) {
  const key = Buffer.from(process.env.OVSEAL_BENCH_KEY, 'hex');
  // Bytes in memory are the caller's, read before the baseline: the open adds only its own memory.
  const input = source === 'stream' ? createReadStream(path) : source === 'bytes' ? readFileSync(path) : path;
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const opened = await open(input, { identities: [new FileIdentity(key)] });
  const ms = performance.now() - t0;
  const size = opened.entries.reduce((sum, entry) => sum + entry.data.length, 0);
  opened.dispose();
  return { baselineRss: before, maxRss: process.resourceUsage().maxRSS * 1024, ms, size };
}

async function childAws(path, bytes) {
  const { createRequire } = await import('node:module');
  const require = createRequire(join(here, '../package.json'));
  const { RawAesKeyringNode, buildClient, CommitmentPolicy, RawAesWrappingSuiteIdentifier } = require('@aws-crypto/client-node');
  const { encrypt, decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const keyring = new RawAesKeyringNode({
    keyNamespace: 'ovseal-bench',
    keyName: 'wrapping-key',
    unencryptedMasterKey: randomBytes(32),
    wrappingSuite: RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const plaintext = Buffer.allocUnsafe(bytes);
  const fd = openSync(path, 'r');
  readSync(fd, plaintext, 0, bytes, 0);
  closeSync(fd);
  const { result } = await encrypt(keyring, plaintext, { encryptionContext: { model: 'bench' } });
  const t0 = performance.now();
  const decrypted = await decrypt(keyring, result);
  const ms = performance.now() - t0;
  if (!Buffer.from(decrypted.plaintext).equals(plaintext)) throw new Error('AWS SDK round trip mismatch');
  return { bytes, ms, maxRss: process.resourceUsage().maxRSS * 1024 };
}

const runChild = (args, env = {}) => runNode(fileURLToPath(import.meta.url), args, { env });

// ---------------------------------------------------------------------------------------------
// Reference measurements.

/** Plain write + fsync of `bytes` (what a seal to this disk cannot beat). */
function diskWriteMBps(dir, bytes) {
  const path = join(dir, 'disk-reference.bin');
  const chunk = Buffer.allocUnsafe(8 * MiB);
  randomFillSync(chunk);
  const t0 = performance.now();
  const fd = openSync(path, 'w');
  for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
  fsyncSync(fd);
  closeSync(fd);
  const ms = performance.now() - t0;
  rmSync(path);
  return mbps(bytes, ms);
}

// ---------------------------------------------------------------------------------------------

/** Times `fn` `runs` times (after a GC each); returns wall ms and process CPU ms per run. */
async function timed(runs, fn) {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < runs; i++) {
    await settle();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn(i);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

function throughput(bytes, { wall, cpu }) {
  return {
    mbps: mbps(bytes, median(wall)),
    bestMbps: mbps(bytes, Math.min(...wall)),
    cpuSecondsPerGiB: (median(cpu) / 1000) * (GiB / bytes),
    runs: wall.length,
  };
}

async function drain(stream) {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  return bytes;
}

async function openOnce(source, identities, options = {}) {
  const opened = await open(source, { identities, ...options });
  const size = opened.entries.reduce((sum, entry) => sum + entry.data.length, 0);
  opened.dispose();
  return size;
}

async function main() {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '1G' },
      runs: { type: 'string', default: '5' },
      'sweep-size': { type: 'string' },
      'aws-size': { type: 'string' },
      'openssl-seconds': { type: 'string', default: '3' },
      'no-sweep': { type: 'boolean', default: false },
      'no-worker-sweep': { type: 'boolean', default: false },
      'no-aws': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      child: { type: 'string' },
      kind: { type: 'string' },
      workers: { type: 'string' },
      path: { type: 'string' },
      bytes: { type: 'string' },
    },
  });
  if (values.child === 'timed') {
    console.log(JSON.stringify(await childTimed(values.kind, values.path, values.workers)));
    return;
  }
  if (values.child?.startsWith('open-')) {
    console.log(JSON.stringify(await childOpenRss(values.path, values.child.slice('open-'.length))));
    return;
  }
  if (values.child === 'aws') {
    console.log(JSON.stringify(await childAws(values.path, Number(values.bytes))));
    return;
  }

  const size = parseSize(values.size);
  const runs = Math.max(1, Number(values.runs));
  const sweepSize = values['sweep-size'] ? parseSize(values['sweep-size']) : Math.min(size, 256 * MiB);
  const awsSize = values['aws-size'] ? parseSize(values['aws-size']) : Math.min(size, 128 * MiB);
  const cores = availableParallelism();
  const log = values.json ? () => {} : (...parts) => console.error(...parts);
  const dir = mkdtempSync(join(tmpdir(), 'ovseal-bench-'));
  const weights = join(dir, 'model.bin');
  const sealed = join(dir, 'model.ovseal');
  const key = generateKey();
  const identities = [new FileIdentity(key)];
  const recipients = [new FileRecipient(key)];
  const signer = container.generateSigningKey();
  const trust = { publicKeys: [signer.publicKeyPem] };
  const report = {
    machine: {
      cores,
      cpu: cpus()[0]?.model,
      memoryGiB: +(totalmem() / GiB).toFixed(1),
      node: process.version,
      openssl: process.versions.openssl,
      loadBefore: loadavg()[0],
    },
    size,
    runs,
  };
  try {
    log(
      `ovseal container benchmark: ${formatBytes(size)} synthetic weights, ${cores} cores, ${runs} runs, load ${loadavg()[0].toFixed(2)}`,
    );
    log('writing the weights file…');
    writeRandomFile(weights, size);
    const entries = (path) => [
      { name: 'model.xml', role: 'xml', data: Buffer.from('<net name="bench"/>') },
      { name: 'model.bin', role: 'weights', path },
    ];
    const metadata = { name: 'bench', version: '1.0.0' };

    log('openssl speed…');
    const opensslBefore = await opensslSpeed(cores, values['openssl-seconds']);

    log('seal…');
    const sealRuns = await timed(Math.min(runs, 3), () =>
      seal({ output: sealed, entries: entries(weights), metadata, recipients, signer: signer.privateKeyPem }),
    );
    report.seal = throughput(size, sealRuns);
    report.diskWriteMbps = diskWriteMBps(dir, size);
    log('seal without I/O…');
    const { sealInto } = await import(join(here, '../packages/container/dist/lib/seal/seal-into.js'));
    const nullSink = { async begin() {}, async writePayload() {}, async writeHeaderArea() {} };
    report.sealCompute = throughput(
      size,
      await timed(Math.min(runs, 3), () => sealInto(nullSink, { entries: entries(weights), metadata, recipients })),
    );

    log('reading the plaintext file into fresh memory (the physical limit), open from a file, open from bytes, each in a fresh process…');
    {
      // Interleaved, so that all three see the same page cache and the same load of a shared machine.
      const childEnv = { OVSEAL_BENCH_KEY: Buffer.from(key).toString('hex') };
      const measured = { read: { wall: [], cpu: [] }, file: { wall: [], cpu: [] }, bytes: { wall: [], cpu: [] } };
      for (let i = 0; i < runs; i++) {
        for (const [kind, path] of [
          ['read', weights],
          ['file', sealed],
          ['bytes', sealed],
        ]) {
          const { ms, cpuMs } = await runChild(['--child', 'timed', '--kind', kind, '--path', path, '--workers', 'default'], childEnv);
          measured[kind].wall.push(ms);
          measured[kind].cpu.push(cpuMs);
        }
      }
      report.readPlaintext = throughput(size, measured.read);
      report.openFile = throughput(size, measured.file);
      report.openBytes = throughput(size, measured.bytes);
    }
    log('open from a stream…');
    report.openStream = throughput(size, await timed(runs, () => openOnce(createReadStream(sealed), identities)));
    report.openStream1M = throughput(
      size,
      await timed(Math.min(runs, 3), () => openOnce(createReadStream(sealed, { highWaterMark: MiB }), identities)),
    );
    // What the stream itself delivers, with nothing done to the chunks: a ceiling for the two above.
    report.rawStream = throughput(size, await timed(Math.min(runs, 3), () => drain(createReadStream(sealed))));
    report.rawStream1M = throughput(size, await timed(Math.min(runs, 3), () => drain(createReadStream(sealed, { highWaterMark: MiB }))));
    log('open with a trust policy (tags + payload digest)…');
    report.openTrusted = throughput(size, await timed(Math.min(runs, 3), () => openOnce(sealed, identities, { trust })));
    log('verify without a key (signature + payload digest)…');
    report.verifyNoKey = throughput(size, await timed(Math.min(runs, 3), () => verify(sealed, { trust })));

    log('peak RSS of an open, in a child process…');
    const childEnv = { OVSEAL_BENCH_KEY: Buffer.from(key).toString('hex') };
    report.rssFile = await runChild(['--child', 'open-file', '--path', sealed], childEnv);
    report.rssBytes = await runChild(['--child', 'open-bytes', '--path', sealed], childEnv);
    report.rssStream = await runChild(['--child', 'open-stream', '--path', sealed], childEnv);

    log('where the CPU time of an open goes (probes in child processes)…');
    report.cpu = await cpuBreakdown(sealed, report.openFile.cpuSecondsPerGiB);

    const opensslAfter = await opensslSpeed(cores, values['openssl-seconds']);
    report.openssl = {
      cores,
      seconds: Number(values['openssl-seconds']),
      before: opensslBefore.mbps ?? opensslBefore,
      after: opensslAfter.mbps ?? opensslAfter,
      // The better of the two: the crypto-only reference.
      mbps: Math.max(...[opensslBefore.mbps, opensslAfter.mbps].filter((v) => typeof v === 'number'), 0) || null,
    };

    if (!values['no-aws']) {
      log(`AWS Encryption SDK decrypt of ${formatBytes(awsSize)} (child process)…`);
      const aws = await runChild(['--child', 'aws', '--path', weights, '--bytes', String(awsSize)]);
      report.awsSdk = {
        ...aws,
        mbps: mbps(aws.bytes, aws.ms),
        note:
          awsSize < size
            ? `measured on the first ${formatBytes(awsSize)} of the same bytes: decrypting ${formatBytes(size)} with its buffer API holds several copies in memory and takes minutes`
            : undefined,
      };
    }

    log('rewrap (in place, add then remove a recipient)…');
    report.rewrap = await rewrapTimes(dir, size, weights, recipients, identities, metadata, runs);

    if (!values['no-worker-sweep']) report.workerSweep = await workerSweep(dir, size, metadata, recipients, identities, key, log);

    if (!values['no-sweep']) {
      report.sweep = [];
      const sweepFile = join(dir, 'sweep.ovseal');
      for (const segmentSize of [64 * 1024, 256 * 1024, 1 * MiB, 4 * MiB]) {
        log(`segment sweep: ${formatBytes(segmentSize)} on ${formatBytes(sweepSize)}…`);
        const sweepWeights = join(dir, 'sweep.bin');
        if (segmentSize === 64 * 1024) writeRandomFile(sweepWeights, sweepSize);
        const sealRun = await timed(1, () =>
          seal({ output: sweepFile, segmentSize, entries: [{ name: 'w', role: 'weights', path: sweepWeights }], metadata, recipients }),
        );
        const openRun = await timed(runs, () => openOnce(sweepFile, identities));
        report.sweep.push({ segmentSize, open: throughput(sweepSize, openRun), sealMbps: mbps(sweepSize, sealRun.wall[0]) });
      }
      report.sweepSize = sweepSize;
    }
    report.machine.loadAfter = loadavg()[0];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  report.floors = floors(report);
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else printTable(report);
}

/**
 * Open time per worker setting, from 1 MiB to the full size, for a file, bytes in memory and a
 * stream (64 KiB chunks): the automatic setting (no `workers` option) must be within 1.1 × of the
 * best explicit one at every size. Settings are interleaved run by run; each is summarised by its
 * best run (the least disturbed by other load) and its median.
 */
async function workerSweep(dir, size, metadata, recipients, identities, key, log) {
  const cores = availableParallelism();
  // What the default resolves to, so that a default that *is* the best setting is not failed on
  // the noise between two runs of the same code.
  const { automaticWorkers } = await import(join(here, '../packages/container/dist/lib/open/decrypt-payload.js'));
  const settings = [undefined, ...new Set([0, 1, cores])];
  const sizes = [];
  for (let bytes = MiB; bytes < size; bytes *= 4) sizes.push(bytes);
  sizes.push(size);
  const plain = join(dir, 'worker-sweep.bin');
  const path = join(dir, 'worker-sweep.ovseal');
  const rows = [];
  for (const bytes of sizes) {
    writeRandomFile(plain, bytes);
    await seal({ output: path, entries: [{ name: 'w', role: 'weights', path: plain }], metadata, recipients });
    const sealedBytes = readFileSync(path);
    const runs = bytes <= 16 * MiB ? 15 : bytes <= 64 * MiB ? 7 : bytes <= 256 * MiB ? 5 : 3;
    for (const kind of ['file', 'bytes', 'stream']) {
      const source = () => (kind === 'file' ? path : kind === 'bytes' ? sealedBytes : createReadStream(path));
      const times = settings.map(() => []);
      for (let run = 0; run < runs; run++) {
        // Each round starts with another setting, so that none always follows the same one.
        const order = settings.map((_, i) => (i + run) % settings.length);
        for (const i of order) {
          const workers = settings[i];
          if (bytes >= 64 * MiB) {
            // Large loads each in a fresh process (see childTimed); small ones here, many times.
            const env = { OVSEAL_BENCH_KEY: Buffer.from(key).toString('hex') };
            times[i].push(
              (await runChild(['--child', 'timed', '--kind', kind, '--path', path, '--workers', String(workers ?? 'default')], env)).ms,
            );
            continue;
          }
          await settle(0);
          const t0 = performance.now();
          await openOnce(source(), identities, { workers });
          times[i].push(performance.now() - t0);
        }
      }
      const row = {
        size: bytes,
        kind,
        runs,
        settings: settings.map((workers, i) => ({
          workers: workers ?? 'default',
          bestMs: Math.min(...times[i]),
          medianMs: median(times[i]),
        })),
      };
      const explicit = row.settings.slice(1);
      row.best = explicit.reduce((a, b) => (b.bestMs < a.bestMs ? b : a));
      row.ratio = row.settings[0].bestMs / row.best.bestMs;
      row.defaultWorkers = automaticWorkers(bytes, { kind: kind === 'stream' ? 'sequential' : 'random' }, false);
      rows.push(row);
      log(
        `  worker sweep ${formatBytes(bytes).padStart(8)} ${kind.padEnd(6)} ${row.settings.map((x) => `${x.workers}: ${x.bestMs.toFixed(1)} ms`).join(', ')} → default (${row.defaultWorkers} workers)/best ${row.ratio.toFixed(2)}`,
      );
    }
  }
  return { cores, rows };
}

async function rewrapTimes(dir, size, weights, recipients, identities, metadata, runs) {
  const extra = new FileRecipient(generateKey());
  const results = {};
  const small = join(dir, 'small.bin');
  writeRandomFile(small, 10 * 1000 * 1000);
  for (const [label, input] of [
    ['small', small],
    ['large', weights],
  ]) {
    const path = join(dir, `rewrap-${label}.ovseal`);
    await seal({ output: path, entries: [{ name: 'w', role: 'weights', path: input }], metadata, recipients });
    const times = [];
    let inPlace = true;
    for (let i = 0; i < Math.max(runs, 5); i++) {
      for (const change of [{ add: [extra] }, { remove: (stanza) => stanza.args[0] === extra.keyId }]) {
        const t0 = performance.now();
        const result = await rewrap(path, { identities, ...change });
        times.push(performance.now() - t0);
        inPlace &&= result.inPlace;
      }
    }
    results[label] = { bytes: statSync(input).size, ms: median(times), inPlace };
  }
  results.ratio = results.large.ms / results.small.ms;
  results.large.bytes = size;
  return results;
}

function floors(r) {
  const list = [];
  const add = (name, value, limit, pass, detail) => list.push({ name, value, limit, pass, detail });
  const plaintext = r.size;
  // The physical limit: reading the same plaintext into fresh memory, in the same run (medians of
  // interleaved runs). openssl speed is printed as the crypto-only reference, not a floor.
  const vsRead = r.openFile.mbps / r.readPlaintext.mbps;
  add(
    'open from a file ≥ 0.95 × reading the plaintext file',
    vsRead,
    0.95,
    vsRead >= 0.95,
    `${r.openFile.mbps.toFixed(0)} vs ${r.readPlaintext.mbps.toFixed(0)} MB/s`,
  );
  const vsFile = r.openBytes.mbps / r.openFile.mbps;
  add(
    'open from bytes in memory ≥ 0.9 × from a file',
    vsFile,
    0.9,
    vsFile >= 0.9,
    `${r.openBytes.mbps.toFixed(0)} vs ${r.openFile.mbps.toFixed(0)} MB/s`,
  );
  if (r.awsSdk)
    add(
      'open ≥ 10 × AWS Encryption SDK',
      r.openFile.mbps / r.awsSdk.mbps,
      10,
      r.openFile.mbps >= 10 * r.awsSdk.mbps,
      `${r.openFile.mbps.toFixed(0)} vs ${r.awsSdk.mbps.toFixed(0)} MB/s`,
    );
  // Gated on what opening adds to the process (peak RSS minus RSS before the open): Node itself,
  // before any ovseal work, already takes ~50 MiB. The absolute peak is printed alongside.
  for (const [label, rss] of [
    ['file', r.rssFile],
    ['bytes', r.rssBytes],
    ['stream', r.rssStream],
  ]) {
    const added = rss.maxRss - rss.baselineRss;
    add(
      `memory added by an open from ${label === 'bytes' ? 'bytes' : `a ${label}`} ≤ plaintext + 64 MiB`,
      added / MiB,
      (plaintext + 64 * MiB) / MiB,
      added <= plaintext + 64 * MiB,
      `plaintext + ${formatBytes(added - plaintext)}; absolute peak RSS ${formatBytes(rss.maxRss)} = plaintext + ${formatBytes(rss.maxRss - plaintext)} (Node before opening: ${formatBytes(rss.baselineRss)})`,
    );
  }
  add(
    'rewrap flat: 1 GiB time ≤ 3 × 10 MB time',
    r.rewrap.ratio,
    3,
    r.rewrap.ratio <= 3 && r.rewrap.large.inPlace,
    `${r.rewrap.large.ms.toFixed(1)} ms vs ${r.rewrap.small.ms.toFixed(1)} ms`,
  );
  for (const row of r.workerSweep?.rows ?? []) {
    const chosen = row.settings[0];
    // The default passes when it is within 1.1 × of the best setting, or is that very setting
    // (then the two figures are runs of the same code, and their ratio is the machine's noise).
    const same = row.defaultWorkers === row.best.workers;
    add(
      `default workers within 1.1 × of the best setting: ${formatBytes(row.size)} from ${row.kind === 'bytes' ? 'bytes' : `a ${row.kind}`}`,
      row.ratio,
      1.1,
      row.ratio <= 1.1 || same,
      `default = ${row.defaultWorkers} workers, ${chosen.bestMs.toFixed(1)} ms; best setting: ${row.best.workers} workers, ${row.best.bestMs.toFixed(1)} ms (best of ${row.runs})${same ? '; the default is the best setting' : ''}`,
    );
  }
  return list;
}

function printTable(r) {
  const rows = [];
  const row = (what, value, extra = '') => rows.push([what, value, extra]);
  const t = (x) => `${x.mbps.toFixed(0)} MB/s`;
  const more = (x) => `best ${x.bestMbps.toFixed(0)} MB/s, ${x.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB`;
  row(`seal (file, fsync'd)`, t(r.seal), `${more(r.seal)}; disk write+fsync alone: ${r.diskWriteMbps.toFixed(0)} MB/s`);
  row('seal without I/O', t(r.sealCompute), more(r.sealCompute));
  row(
    'read the plaintext file (physical limit)',
    t(r.readPlaintext),
    `${more(r.readPlaintext)}; readFile into fresh memory, page faults included`,
  );
  row(
    'open from a file',
    t(r.openFile),
    `${more(r.openFile)}; ${(r.openFile.mbps / r.readPlaintext.mbps).toFixed(2)} × the plaintext read`,
  );
  row(
    'open from bytes in memory',
    t(r.openBytes),
    `${more(r.openBytes)}; ${(r.openBytes.mbps / r.openFile.mbps).toFixed(2)} × from a file`,
  );
  row(
    'open from a stream (64 KiB chunks)',
    t(r.openStream),
    `${more(r.openStream)}; the stream alone: ${r.rawStream.mbps.toFixed(0)} MB/s`,
  );
  row(
    'open from a stream (1 MiB chunks)',
    t(r.openStream1M),
    `${more(r.openStream1M)}; the stream alone: ${r.rawStream1M.mbps.toFixed(0)} MB/s`,
  );
  row('open, trust policy (digest too)', t(r.openTrusted), more(r.openTrusted));
  row('verify, no key', t(r.verifyNoKey), more(r.verifyNoKey));
  const o = r.openssl;
  row(
    `openssl speed -multi ${o.cores} (16 KiB)`,
    o.mbps ? `${o.mbps.toFixed(0)} MB/s` : 'n/a',
    `crypto-only reference, cache-resident blocks; before ${fmt(o.before)}, after ${fmt(o.after)}`,
  );
  if (o.mbps)
    row(
      'open / openssl multi-core',
      `${(r.openFile.mbps / o.mbps).toFixed(2)} ×`,
      'the crypto alone is not the limit of a load: page faults and copies are',
    );
  if (r.awsSdk) {
    row(
      'AWS Encryption SDK decrypt',
      `${r.awsSdk.mbps.toFixed(0)} MB/s`,
      `${formatBytes(r.awsSdk.bytes)}, child peak RSS ${formatBytes(r.awsSdk.maxRss)}${r.awsSdk.note ? `; ${r.awsSdk.note}` : ''}`,
    );
    row('open / AWS SDK', `${(r.openFile.mbps / r.awsSdk.mbps).toFixed(1)} ×`);
  }
  for (const [label, rss] of [
    ['file', r.rssFile],
    ['bytes', r.rssBytes],
    ['stream', r.rssStream],
  ]) {
    row(
      `peak RSS, open from ${label === 'bytes' ? 'bytes' : `a ${label}`}`,
      formatBytes(rss.maxRss),
      `plaintext + ${formatBytes(rss.maxRss - r.size)}; before the open ${formatBytes(rss.baselineRss)}, so the open added plaintext + ${formatBytes(rss.maxRss - rss.baselineRss - r.size)}; that (first, cold) open: ${mbps(rss.size, rss.ms).toFixed(0)} MB/s`,
    );
  }
  row('rewrap, 10 MB', `${r.rewrap.small.ms.toFixed(1)} ms`, `median, in place: ${r.rewrap.small.inPlace}`);
  row(
    `rewrap, ${formatBytes(r.size)}`,
    `${r.rewrap.large.ms.toFixed(1)} ms`,
    `median, in place: ${r.rewrap.large.inPlace}; ratio ${r.rewrap.ratio.toFixed(2)}`,
  );
  for (const s of r.sweep ?? []) {
    row(
      `segment ${formatBytes(s.segmentSize)}: open ${formatBytes(r.sweepSize)}`,
      t(s.open),
      `${more(s.open)}; seal (fsync'd, once) ${s.sealMbps.toFixed(0)} MB/s`,
    );
  }
  const width = Math.max(...rows.map((x) => x[0].length));
  const valueWidth = Math.max(...rows.map((x) => x[1].length));
  console.log(
    `\novseal container benchmark — ${formatBytes(r.size)}, ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}, load ${r.machine.loadBefore.toFixed(2)} → ${r.machine.loadAfter?.toFixed(2)}`,
  );
  console.log('throughputs: median of the runs (best in the last column); CPU-s/GiB = process CPU time per GiB\n');
  for (const [a, b, c] of rows) console.log(`${a.padEnd(width)}  ${b.padStart(valueWidth)}  ${c}`);
  console.log('');
  if (r.cpu) printBreakdown(console.log, r.cpu, 'an open from a file');
  if (r.workerSweep) {
    console.log(`\nworker sweep (${r.workerSweep.cores} cores): best run of each setting, ms (median in brackets)`);
    for (const row of r.workerSweep.rows) {
      const cells = row.settings.map(
        (x) => `${String(x.workers).padStart(7)}: ${x.bestMs.toFixed(1).padStart(7)} (${x.medianMs.toFixed(1)})`,
      );
      console.log(
        `  ${formatBytes(row.size).padStart(8)} ${row.kind.padEnd(6)} ${cells.join('  ')}   default (= ${row.defaultWorkers})/best ${row.ratio.toFixed(2)}`,
      );
    }
  }
  console.log('');
  for (const f of r.floors)
    console.log(
      `${f.pass ? 'PASS' : 'FAIL'}  ${f.name}: ${typeof f.value === 'number' ? f.value.toFixed(2) : f.value} (limit ${f.limit.toFixed(2)}) — ${f.detail}`,
    );
}

const fmt = (v) => (typeof v === 'number' ? `${v.toFixed(0)} MB/s` : (v?.error ?? 'n/a'));

await main();
