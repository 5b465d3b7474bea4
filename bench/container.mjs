#!/usr/bin/env node
/**
 * Container payload benchmark: seal, open (file and stream), verify, rewrap and a segment-size
 * sweep on a synthetic weights file, against `openssl speed` (multi-core AES-256-GCM) and the AWS
 * Encryption SDK for JavaScript on the same machine in the same run.
 *
 *   pnpm bench                         # 1 GiB (builds first)
 *   node bench/container.mjs --size 256M --runs 3
 *   node bench/container.mjs --json    # one JSON object on stdout
 *
 * Options: --size <n[K|M|G]> (default 1G)  --runs <n> (timed repetitions, default 5)
 *          --sweep-size <n> (default min(size, 256M))  --aws-size <n> (default min(size, 128M))
 *          --openssl-seconds <n> (default 3)  --no-sweep  --no-aws  --json
 *
 * The machine may be shared: every throughput is the median of the runs (best in brackets), the
 * process CPU time per GiB is printed next to it (it is much less sensitive to other load than
 * wall time), and the load average is reported. Never gate tests on these numbers.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const here = fileURLToPath(new URL('.', import.meta.url));
const container = await import(join(here, '../packages/container/dist/index.js'));
const keyFile = await import(join(here, '../packages/key-file/dist/index.js'));
const { seal, open, verify, rewrap } = container;
const { FileRecipient, FileIdentity, generateKey } = keyFile;

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

// Collect garbage between runs, so one run's 1 GiB does not burden the next, and give the kernel
// a moment to take the freed memory back (that work would otherwise land in the next run).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
setFlagsFromString('--no-expose-gc');
const settle = async () => {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 300));
};

function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(String(text).trim());
  if (!match) throw new Error(`not a size: ${text} (e.g. 256M, 1G)`);
  const unit = { '': 1, k: 1024, m: MiB, g: GiB }[match[2].toLowerCase()];
  return Math.round(Number(match[1]) * unit);
}

const formatBytes = (n) => (n >= GiB && n % GiB === 0 ? `${n / GiB} GiB` : n >= MiB ? `${+(n / MiB).toFixed(1)} MiB` : `${+(n / 1024).toFixed(1)} KiB`);
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

// ---------------------------------------------------------------------------------------------
// Child processes: peak RSS of an open, and the AWS Encryption SDK (its memory stays out of ours).

async function childOpenRss(path, source) {
  const key = Buffer.from(process.env.OVSEAL_BENCH_KEY, 'hex');
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const opened = await open(source === 'stream' ? createReadStream(path) : path, { identities: [new FileIdentity(key)] });
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

function runChild(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`child ${args.join(' ')} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Reference measurements.

async function opensslSpeed(cores, seconds) {
  try {
    const { stdout } = await promisify(execFile)('openssl', ['speed', '-evp', 'aes-256-gcm', '-multi', String(cores), '-seconds', String(seconds), '-bytes', '16384'], { maxBuffer: 1 << 20 });
    // The aggregate line: "aes-256-gcm  <n>k" (1000s of bytes per second, for 16384-byte blocks).
    const line = stdout.split('\n').reverse().find((l) => /^aes-256-gcm\s/i.test(l.trim()));
    const value = line?.trim().split(/\s+/).at(-1);
    if (!value?.endsWith('k')) throw new Error(`unexpected openssl output: ${line}`);
    return (Number(value.slice(0, -1)) * 1000) / 1e6;
  } catch (error) {
    return { error: String(error.message ?? error) };
  }
}

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

function writeRandomFile(path, bytes) {
  const chunk = Buffer.allocUnsafe(16 * MiB);
  const fd = openSync(path, 'w');
  for (let done = 0; done < bytes; done += chunk.length) {
    const n = Math.min(chunk.length, bytes - done);
    randomFillSync(chunk, 0, n);
    writeSync(fd, chunk, 0, n);
  }
  closeSync(fd);
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
      'no-aws': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      child: { type: 'string' },
      path: { type: 'string' },
      bytes: { type: 'string' },
    },
  });
  if (values.child === 'open-file' || values.child === 'open-stream') {
    console.log(JSON.stringify(await childOpenRss(values.path, values.child === 'open-stream' ? 'stream' : 'file')));
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
    machine: { cores, cpu: cpus()[0]?.model, memoryGiB: +(totalmem() / GiB).toFixed(1), node: process.version, openssl: process.versions.openssl, loadBefore: loadavg()[0] },
    size,
    runs,
  };
  try {
    log(`ovseal container benchmark: ${formatBytes(size)} synthetic weights, ${cores} cores, ${runs} runs, load ${loadavg()[0].toFixed(2)}`);
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
    const sealRuns = await timed(Math.min(runs, 3), () => seal({ output: sealed, entries: entries(weights), metadata, recipients, signer: signer.privateKeyPem }));
    report.seal = throughput(size, sealRuns);
    report.diskWriteMbps = diskWriteMBps(dir, size);
    log('seal without I/O…');
    const { sealInto } = await import(join(here, '../packages/container/dist/lib/seal-core.js'));
    const nullSink = { async begin() {}, async writePayload() {}, async writeHeaderArea() {} };
    report.sealCompute = throughput(size, await timed(Math.min(runs, 3), () => sealInto(nullSink, { entries: entries(weights), metadata, recipients })));

    log('open from a file…');
    report.openFile = throughput(size, await timed(runs, () => openOnce(sealed, identities)));
    log('open from bytes in memory…');
    {
      const bytes = readFileSync(sealed);
      report.openBytes = throughput(size, await timed(Math.min(runs, 3), () => openOnce(bytes, identities)));
    }
    log('open from a stream…');
    report.openStream = throughput(size, await timed(runs, () => openOnce(createReadStream(sealed), identities)));
    report.openStream1M = throughput(size, await timed(Math.min(runs, 3), () => openOnce(createReadStream(sealed, { highWaterMark: MiB }), identities)));
    // What the stream itself delivers, with nothing done to the chunks: a ceiling for the two above.
    report.rawStream = throughput(size, await timed(Math.min(runs, 3), () => drain(createReadStream(sealed))));
    report.rawStream1M = throughput(size, await timed(Math.min(runs, 3), () => drain(createReadStream(sealed, { highWaterMark: MiB }))));
    log('open with a trust policy (tags + payload digest)…');
    report.openTrusted = throughput(size, await timed(Math.min(runs, 3), () => openOnce(sealed, identities, { trust })));
    log('open inline (workers: 0)…');
    report.openInline = throughput(size, await timed(Math.min(runs, 3), () => openOnce(sealed, identities, { workers: 0 })));
    log('verify without a key (signature + payload digest)…');
    report.verifyNoKey = throughput(size, await timed(Math.min(runs, 3), () => verify(sealed, { trust })));

    log('peak RSS of an open, in a child process…');
    const childEnv = { OVSEAL_BENCH_KEY: Buffer.from(key).toString('hex') };
    report.rssFile = await runChild(['--child', 'open-file', '--path', sealed], childEnv);
    report.rssStream = await runChild(['--child', 'open-stream', '--path', sealed], childEnv);

    const opensslAfter = await opensslSpeed(cores, values['openssl-seconds']);
    report.openssl = {
      cores,
      seconds: Number(values['openssl-seconds']),
      before: opensslBefore,
      after: opensslAfter,
      // The better of the two: the floor is checked against the faster reference.
      mbps: Math.max(...[opensslBefore, opensslAfter].filter((v) => typeof v === 'number'), 0) || null,
    };

    if (!values['no-aws']) {
      log(`AWS Encryption SDK decrypt of ${formatBytes(awsSize)} (child process)…`);
      const aws = await runChild(['--child', 'aws', '--path', weights, '--bytes', String(awsSize)]);
      report.awsSdk = { ...aws, mbps: mbps(aws.bytes, aws.ms), note: awsSize < size ? `measured on the first ${formatBytes(awsSize)} of the same bytes: decrypting ${formatBytes(size)} with its buffer API holds several copies in memory and takes minutes` : undefined };
    }

    log('rewrap (in place, add then remove a recipient)…');
    report.rewrap = await rewrapTimes(dir, size, weights, recipients, identities, metadata, runs);

    if (!values['no-sweep']) {
      report.sweep = [];
      const sweepFile = join(dir, 'sweep.ovseal');
      for (const segmentSize of [64 * 1024, 256 * 1024, 1 * MiB, 4 * MiB]) {
        log(`segment sweep: ${formatBytes(segmentSize)} on ${formatBytes(sweepSize)}…`);
        const sweepWeights = join(dir, 'sweep.bin');
        if (segmentSize === 64 * 1024) writeRandomFile(sweepWeights, sweepSize);
        const sealRun = await timed(1, () => seal({ output: sweepFile, segmentSize, entries: [{ name: 'w', role: 'weights', path: sweepWeights }], metadata, recipients }));
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

async function rewrapTimes(dir, size, weights, recipients, identities, metadata, runs) {
  const extra = new FileRecipient(generateKey());
  const results = {};
  const small = join(dir, 'small.bin');
  writeRandomFile(small, 10 * 1000 * 1000);
  for (const [label, input] of [['small', small], ['large', weights]]) {
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
  if (typeof r.openssl.mbps === 'number') {
    add('open ≥ 0.8 × openssl multi-core', r.openFile.mbps / r.openssl.mbps, 0.8, r.openFile.mbps >= 0.8 * r.openssl.mbps, `${r.openFile.mbps.toFixed(0)} vs ${r.openssl.mbps.toFixed(0)} MB/s`);
  }
  if (r.awsSdk) add('open ≥ 10 × AWS Encryption SDK', r.openFile.mbps / r.awsSdk.mbps, 10, r.openFile.mbps >= 10 * r.awsSdk.mbps, `${r.openFile.mbps.toFixed(0)} vs ${r.awsSdk.mbps.toFixed(0)} MB/s`);
  // Gated on what opening adds to the process (peak RSS minus RSS before the open): Node itself,
  // before any ovseal work, already takes ~50 MiB. The absolute peak is printed alongside.
  for (const [label, rss] of [['file', r.rssFile], ['stream', r.rssStream]]) {
    const added = rss.maxRss - rss.baselineRss;
    add(`memory added by an open from a ${label} ≤ plaintext + 64 MiB`, added / MiB, (plaintext + 64 * MiB) / MiB, added <= plaintext + 64 * MiB, `plaintext + ${formatBytes(added - plaintext)}; absolute peak RSS ${formatBytes(rss.maxRss)} = plaintext + ${formatBytes(rss.maxRss - plaintext)} (Node before opening: ${formatBytes(rss.baselineRss)})`);
  }
  add('rewrap flat: 1 GiB time ≤ 3 × 10 MB time', r.rewrap.ratio, 3, r.rewrap.ratio <= 3 && r.rewrap.large.inPlace, `${r.rewrap.large.ms.toFixed(1)} ms vs ${r.rewrap.small.ms.toFixed(1)} ms`);
  return list;
}

function printTable(r) {
  const rows = [];
  const row = (what, value, extra = '') => rows.push([what, value, extra]);
  const t = (x) => `${x.mbps.toFixed(0)} MB/s`;
  const more = (x) => `best ${x.bestMbps.toFixed(0)} MB/s, ${x.cpuSecondsPerGiB.toFixed(2)} CPU-s/GiB`;
  row(`seal (file, fsync'd)`, t(r.seal), `${more(r.seal)}; disk write+fsync alone: ${r.diskWriteMbps.toFixed(0)} MB/s`);
  row('seal without I/O', t(r.sealCompute), more(r.sealCompute));
  row('open from a file', t(r.openFile), more(r.openFile));
  row('open from bytes in memory', t(r.openBytes), more(r.openBytes));
  row('open from a stream (64 KiB chunks)', t(r.openStream), `${more(r.openStream)}; the stream alone: ${r.rawStream.mbps.toFixed(0)} MB/s`);
  row('open from a stream (1 MiB chunks)', t(r.openStream1M), `${more(r.openStream1M)}; the stream alone: ${r.rawStream1M.mbps.toFixed(0)} MB/s`);
  row('open, trust policy (digest too)', t(r.openTrusted), more(r.openTrusted));
  row('open inline (workers: 0)', t(r.openInline), more(r.openInline));
  row('verify, no key', t(r.verifyNoKey), more(r.verifyNoKey));
  const o = r.openssl;
  row(`openssl speed -multi ${o.cores} (16 KiB)`, o.mbps ? `${o.mbps.toFixed(0)} MB/s` : 'n/a', `before ${fmt(o.before)}, after ${fmt(o.after)}`);
  if (o.mbps) row('open / openssl multi-core', `${(r.openFile.mbps / o.mbps).toFixed(2)} ×`);
  if (r.awsSdk) {
    row('AWS Encryption SDK decrypt', `${r.awsSdk.mbps.toFixed(0)} MB/s`, `${formatBytes(r.awsSdk.bytes)}, child peak RSS ${formatBytes(r.awsSdk.maxRss)}${r.awsSdk.note ? `; ${r.awsSdk.note}` : ''}`);
    row('open / AWS SDK', `${(r.openFile.mbps / r.awsSdk.mbps).toFixed(1)} ×`);
  }
  for (const [label, rss] of [['file', r.rssFile], ['stream', r.rssStream]]) {
    row(`peak RSS, open from a ${label}`, formatBytes(rss.maxRss), `plaintext + ${formatBytes(rss.maxRss - r.size)}; before the open ${formatBytes(rss.baselineRss)}, so the open added plaintext + ${formatBytes(rss.maxRss - rss.baselineRss - r.size)}; that (first, cold) open: ${mbps(rss.size, rss.ms).toFixed(0)} MB/s`);
  }
  row('rewrap, 10 MB', `${r.rewrap.small.ms.toFixed(1)} ms`, `median, in place: ${r.rewrap.small.inPlace}`);
  row(`rewrap, ${formatBytes(r.size)}`, `${r.rewrap.large.ms.toFixed(1)} ms`, `median, in place: ${r.rewrap.large.inPlace}; ratio ${r.rewrap.ratio.toFixed(2)}`);
  for (const s of r.sweep ?? []) {
    row(`segment ${formatBytes(s.segmentSize)}: open ${formatBytes(r.sweepSize)}`, t(s.open), `${more(s.open)}; seal (fsync'd, once) ${s.sealMbps.toFixed(0)} MB/s`);
  }
  const width = Math.max(...rows.map((x) => x[0].length));
  const valueWidth = Math.max(...rows.map((x) => x[1].length));
  console.log(`\novseal container benchmark — ${formatBytes(r.size)}, ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}, load ${r.machine.loadBefore.toFixed(2)} → ${r.machine.loadAfter?.toFixed(2)}`);
  console.log('throughputs: median of the runs (best in the last column); CPU-s/GiB = process CPU time per GiB\n');
  for (const [a, b, c] of rows) console.log(`${a.padEnd(width)}  ${b.padStart(valueWidth)}  ${c}`);
  console.log('');
  for (const f of r.floors) console.log(`${f.pass ? 'PASS' : 'FAIL'}  ${f.name}: ${typeof f.value === 'number' ? f.value.toFixed(2) : f.value} (limit ${f.limit.toFixed(2)}) — ${f.detail}`);
}

const fmt = (v) => (typeof v === 'number' ? `${v.toFixed(0)} MB/s` : v?.error ?? 'n/a');

await main();
