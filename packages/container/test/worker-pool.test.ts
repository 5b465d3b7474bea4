/**
 * The worker pool that parallel opens and seals share (an internal module, tested through its
 * build): tasks placed on ready workers with room, their lent buffers back with each reply, a
 * task that throws or a worker that dies failing the run with a typed error, the signal failing
 * it with an AbortError, and `close` leaving no thread behind (counted in /proc/self/task, Linux).
 */
import { existsSync, readdirSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { AbortError, IoError } from '@ovseal/container';
import { WorkerPool, type PoolWorker } from '../dist/lib/parallel/worker-pool.js';
import type { EncryptJob, EncryptOutput } from '../dist/lib/parallel/worker-protocol.js';

const TASKS = '/proc/self/task';
const threads = () => readdirSync(TASKS).length;
const KEY = new Uint8Array(32).fill(7);
const SEGMENT = 1024;

interface Reply {
  readonly output: EncryptOutput | null;
  readonly buffers: ArrayBuffer[];
}

/** An encrypting pool whose replies are collected by task id. */
function encryptPool(signal?: AbortSignal) {
  const replies = new Map<number, Reply>();
  const pool = new WorkerPool<EncryptJob, EncryptOutput, number>({
    name: 'encrypt',
    signal,
    onReply: (id, output, buffers) => replies.set(id, { output, buffers }),
  });
  return { pool, replies };
}

/** Waits until the pool places tasks on a worker (every worker has started). */
async function readyWorker(pool: WorkerPool<EncryptJob, EncryptOutput, number>): Promise<PoolWorker> {
  for (;;) {
    const placement = pool.placement();
    if (placement !== 'here' && placement !== 'wait') return placement;
    await pool.nextChange();
  }
}

/** A run of `segments` whole segments, with its two lent buffers (plaintext filled with 0xaa). */
function sealJob(id: number, segments: number, plainLength = segments * SEGMENT): { job: EncryptJob; buffers: ArrayBuffer[] } {
  const plain = new ArrayBuffer(plainLength);
  new Uint8Array(plain).fill(0xaa);
  const job: EncryptJob = { entryIndex: 0, segmentSize: SEGMENT, firstSegment: id * segments, length: segments * SEGMENT, last: false };
  return { job, buffers: [plain, new ArrayBuffer(segments * (SEGMENT + 16))] };
}

/**
 * Closes the pool and checks that its `workers` threads ended. Counted against the threads just
 * before closing, not at the test's start: a loaded process may start threads of its own meanwhile
 * (seen once in CI as one extra thread after the first pool of the file).
 */
async function closeAndCountThreads(pool: WorkerPool<EncryptJob, EncryptOutput, number>, workers: number): Promise<void> {
  const running = threads();
  await pool.close();
  expect(threads()).toBe(running - workers);
}

describe.skipIf(!existsSync(TASKS))('worker pool', () => {
  beforeAll(async () => {
    // A first pool run, so that what the process starts lazily on its first worker is there already.
    const { pool } = encryptPool();
    pool.start(1, KEY, { kind: 'encrypt' });
    await readyWorker(pool);
    await pool.close();
  });

  test('tasks go to ready workers with room in their queue, and come back with their buffers', async () => {
    const before = threads();
    const { pool, replies } = encryptPool();
    expect(pool.placement()).toBe('here'); // nothing started: the calling thread works
    pool.start(2, KEY, { kind: 'encrypt' });
    expect(threads()).toBeGreaterThan(before);
    for (let id = 0; id < 8;) {
      const placement = pool.placement();
      if (placement === 'here' || placement === 'wait') {
        await pool.nextChange();
        continue;
      }
      expect(placement.inFlight).toBeLessThan(2);
      const { job, buffers } = sealJob(id, 4);
      pool.post(placement, id, job, buffers, id);
      expect(buffers.every((buffer) => buffer.byteLength === 0)).toBe(true); // transferred, not copied
      id++;
    }
    while (pool.pending > 0) await pool.nextChange();
    expect([...replies.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const { output, buffers } of replies.values()) {
      expect(output).toHaveLength(4 * 32); // a SHA-256 per sealed segment
      expect(buffers.map((buffer) => buffer.byteLength)).toEqual([4 * SEGMENT, 4 * (SEGMENT + 16)]);
    }
    expect(pool.failed).toBe(false);
    await closeAndCountThreads(pool, 2);
  });

  test('a ready worker takes two tasks at most; then the caller waits', async () => {
    const { pool } = encryptPool();
    pool.start(1, KEY, { kind: 'encrypt' });
    const worker = await readyWorker(pool);
    for (const id of [0, 1]) {
      const { job, buffers } = sealJob(id, 4);
      pool.post(worker, id, job, buffers, id);
    }
    expect(pool.placement()).toBe('wait');
    while (pool.pending > 0) await pool.nextChange();
    expect(pool.placement()).toBe(worker);
    await pool.close();
  });

  test('a task that throws in a worker fails the run with an IoError; its buffers come back wiped', async () => {
    const { pool, replies } = encryptPool();
    pool.start(1, KEY, { kind: 'encrypt' });
    const worker = await readyWorker(pool);
    // The plaintext buffer is shorter than the run: the worker cannot even view it.
    const { job, buffers } = sealJob(0, 4, 100);
    pool.post(worker, 0, job, buffers, 0);
    while (pool.pending > 0) await pool.nextChange();
    expect(pool.failed).toBe(true);
    expect(pool.error).toBeInstanceOf(IoError);
    expect(pool.error?.message).toMatch(/^encrypt worker failed: /);
    const reply = replies.get(0)!;
    expect(reply.output).toBeNull();
    expect(reply.buffers[0]!.byteLength).toBe(100);
    expect(new Uint8Array(reply.buffers[0]!).every((byte) => byte === 0)).toBe(true);
    await closeAndCountThreads(pool, 1);
  });

  test('a worker that stops unexpectedly fails the run and wakes the one waiting', async () => {
    const { pool } = encryptPool();
    pool.start(2, KEY, { kind: 'encrypt' });
    const worker = await readyWorker(pool);
    const woken = pool.nextChange();
    await worker.thread.terminate();
    await woken;
    expect(pool.error).toBeInstanceOf(IoError);
    expect(pool.error?.message).toBe('an encrypt worker stopped unexpectedly');
    await pool.close();
  });

  test('the signal fails the run with an AbortError, and close stops every worker', async () => {
    const controller = new AbortController();
    const { pool } = encryptPool(controller.signal);
    pool.start(2, KEY, { kind: 'encrypt' });
    await readyWorker(pool);
    const reason = new Error('shutting down');
    controller.abort(reason);
    expect(pool.failed).toBe(true);
    expect(pool.error).toBeInstanceOf(AbortError);
    expect(pool.error?.cause).toBe(reason);
    await closeAndCountThreads(pool, 2);
    // An already aborted signal fails the pool at once.
    expect(encryptPool(AbortSignal.abort('no')).pool.error).toBeInstanceOf(AbortError);
  });
});
