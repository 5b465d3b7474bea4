#!/usr/bin/env node
/**
 * Helpers shared by `bench/container.mjs` (pnpm bench) and `bench/load.mjs` (pnpm bench:load): the
 * reference measurements an open is compared with in the same run, and where its CPU time goes.
 *
 *   node bench/common.mjs --probe <node-aes|faults|read> [path]   # one probe, one JSON line
 *
 * The physical limit of an open on these machines is reading the same plaintext file into fresh
 * memory (page faults included); `openssl speed` on cache-resident blocks is the crypto-only
 * reference. Where an open's CPU time goes is estimated from probes run in the same conditions:
 * AES-GCM in OpenSSL alone, Node's cipher calls around it, first-touch page faults of the output,
 * and reading the ciphertext from the page cache.
 */
import { execFile, spawn } from 'node:child_process';
import { createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MessageChannel } from 'node:worker_threads';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function writeRandomFile(path, bytes) {
  const chunk = Buffer.allocUnsafe(16 * MiB);
  const fd = openSync(path, 'w');
  for (let done = 0; done < bytes; done += chunk.length) {
    const n = Math.min(chunk.length, bytes - done);
    randomFillSync(chunk, 0, n);
    writeSync(fd, chunk, 0, n);
  }
  closeSync(fd);
}

/** Process CPU time (user + system, every thread) in ms since `since` (a process.cpuUsage()). */
export function cpuMs(since) {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/**
 * `openssl speed -evp aes-256-gcm` on 16 KiB blocks (cache-resident): MB/s on `cores` processes,
 * or `{ error }` when openssl is missing. The crypto alone, nothing an open can reach.
 */
export async function opensslSpeed(cores, seconds = 2) {
  const args = ['speed', '-evp', 'aes-256-gcm', '-seconds', String(seconds), '-bytes', '16384'];
  if (cores > 1) args.splice(1, 0, '-multi', String(cores));
  try {
    const { stdout } = await promisify(execFile)('openssl', args, { maxBuffer: 1 << 20 });
    // The result line: "AES-256-GCM  <n>k" (1000s of bytes per second, for 16384-byte blocks).
    const line = stdout
      .split('\n')
      .reverse()
      .find((l) => /^aes-256-gcm\s/i.test(l.trim()));
    const value = line?.trim().split(/\s+/).at(-1);
    if (!value?.endsWith('k')) throw new Error(`unexpected openssl output: ${line}`);
    return { mbps: (Number(value.slice(0, -1)) * 1000) / 1e6, command: `openssl ${args.join(' ')}` };
  } catch (error) {
    return { error: String(error.message ?? error) };
  }
}

/** Runs a script as a child process; resolves with the JSON of its last stdout line. */
export function runNode(script, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} ${args.join(' ')} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Probes: each runs in its own process and reports CPU ms for 1 GiB.

/** Node's AES-256-GCM decryption as the container calls it (1 MiB segments, 64 KiB slices, outputs freed at once), in cache. */
function probeNodeAes() {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const segment = randomBytes(MiB);
  const out = new Uint8Array(MiB);
  const closed = new MessageChannel().port1;
  closed.close();
  const since = process.cpuUsage();
  for (let s = 0; s < 1024; s++) {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    for (let offset = 0; offset < MiB; offset += 65536) {
      const piece = decipher.update(segment.subarray(offset, offset + 65536));
      out.set(piece, offset);
      piece.fill(0);
      closed.postMessage(null, [piece.buffer]);
    }
  }
  return { cpuMs: cpuMs(since) };
}

/** First touch of 1 GiB of fresh memory: the page faults every load pays once. */
function probeFaults() {
  const since = process.cpuUsage();
  const bytes = new Uint8Array(GiB);
  for (let offset = 0; offset < GiB; offset += 4096) bytes[offset] = 1;
  return { cpuMs: cpuMs(since) };
}

/** Reading a (cached) file into a reused buffer: the copy out of the page cache, without faults. */
function probeRead(path) {
  const buffer = Buffer.allocUnsafe(8 * MiB);
  const fd = openSync(path, 'r');
  const since = process.cpuUsage();
  let total = 0;
  for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0;) total += n;
  const used = cpuMs(since);
  closeSync(fd);
  return { cpuMs: (used * GiB) / total };
}

/**
 * Where the CPU time of an open goes, per GiB, from probes in child processes (each alone on the
 * machine), next to the open's own figure. The rest is hashing, scheduling and JavaScript.
 */
export async function cpuBreakdown(sealedPath, openCpuSecondsPerGiB) {
  const script = fileURLToPath(import.meta.url);
  const single = await opensslSpeed(1);
  const nodeAes = await runNode(script, ['--probe', 'node-aes']);
  const faults = await runNode(script, ['--probe', 'faults']);
  const read = await runNode(script, ['--probe', 'read', sealedPath]);
  const aes = typeof single.mbps === 'number' ? GiB / 1e6 / single.mbps : null;
  const parts = [
    ['AES-256-GCM in OpenSSL (openssl speed, 1 core)', aes],
    ["Node's cipher calls around it (allocation, copies, freeing)", aes === null ? null : nodeAes.cpuMs / 1000 - aes],
    ['first-touch page faults of the output', faults.cpuMs / 1000],
    ['reading the ciphertext out of the page cache', read.cpuMs / 1000],
  ];
  const known = parts.reduce((sum, [, seconds]) => sum + (seconds ?? 0), 0);
  return { total: openCpuSecondsPerGiB, parts, rest: openCpuSecondsPerGiB - known };
}

export function printBreakdown(log, breakdown, label) {
  log(`CPU-seconds per GiB of ${label}: ${breakdown.total.toFixed(2)} (every thread), of which, from probes run alone:`);
  for (const [what, seconds] of breakdown.parts) log(`  ${seconds === null ? '  n/a' : seconds.toFixed(2).padStart(5)}  ${what}`);
  log(`  ${breakdown.rest.toFixed(2).padStart(5)}  the rest (segment tasks, hashing, scheduling, JavaScript)`);
}

if (process.argv[2] === '--probe') {
  const [, , , name, path] = process.argv;
  const probes = { 'node-aes': probeNodeAes, faults: probeFaults, read: () => probeRead(path) };
  if (!probes[name]) throw new Error(`unknown probe ${name}`);
  console.log(JSON.stringify(probes[name]()));
}
