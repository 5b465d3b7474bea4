/**
 * Cancellation: open, openEntry, openStream, verify, seal and sealToBuffer take an AbortSignal.
 * Aborting rejects with a typed AbortError (code ERR_ABORTED, cause = the signal's reason), stops
 * the workers, zeroes what was decrypted so far, and leaves no output file.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { AbortError, open, openEntry, openStream, seal, sealToBuffer, verify, type ContainerSource } from '@ovseal/container';
import { decryptPayload } from '../dist/lib/open/decrypt-payload.js';
import { prepareOpen } from '../dist/lib/open/prepare-open.js';
import { openReader } from '../dist/lib/io/container-reader.js';
import { bytesEqual, chunked, expectOvsealError, testKey, withTempDir } from './helpers.js';

const MiB = 1024 * 1024;
const WEIGHTS = randomBytes(40 * MiB + 3);
const key = testKey();
const identities = [key.identity];
const bytes = await sealToBuffer({
  entries: [
    { name: 'model.xml', role: 'xml', data: Buffer.from('<net/>') },
    { name: 'model.bin', role: 'weights', data: WEIGHTS },
  ],
  metadata: { name: 'abort', version: '1' },
  recipients: [key.recipient],
});

/** OS threads of this process (Linux): worker threads that were stopped are gone from the list. */
const threadCount = () => readdirSync('/proc/self/task').length;

/** A stream that delivers the container's first `upTo` bytes, then hangs forever. */
async function* stalling(upTo: number): AsyncGenerator<Uint8Array> {
  yield bytes.subarray(0, upTo);
  await new Promise(() => {});
}

async function expectAborted(promise: Promise<unknown>, reason: unknown): Promise<void> {
  const error = await expectOvsealError(promise, ['ERR_ABORTED']);
  expect(error).toBeInstanceOf(AbortError);
  expect(error.name).toBe('AbortError');
  expect(error.cause).toBe(reason);
}

describe('AbortSignal', () => {
  test('an aborted signal refuses at once, before any key is unwrapped', async () => {
    const reason = new Error('shutting down');
    const signal = AbortSignal.abort(reason);
    const counting = testKey();
    await expectAborted(open(bytes, { identities: [counting.identity], signal }), reason);
    await expectAborted(openEntry(bytes, 'model.xml', { identities: [counting.identity], signal }), reason);
    await expectAborted(verify(bytes, { identities: [counting.identity], signal }), reason);
    expect(counting.identity.calls).toBe(0);
  });

  test.each([0, 2])('aborting mid-payload (workers: %s) rejects for every source and stops the workers', async (workers) => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'm.ovseal');
      await writeFile(path, bytes);
      const threadsBefore = threadCount();
      const sources: [string, () => ContainerSource][] = [
        ['path', () => path],
        ['bytes', () => bytes],
        ['stream', () => chunked(bytes, [MiB])],
      ];
      for (const [kind, source] of sources) {
        const controller = new AbortController();
        const reason = new Error(`stop ${kind}`);
        const onProgress = (done: number) => {
          if (done > 4 * MiB) controller.abort(reason);
        };
        await expectAborted(open(source(), { identities, workers, signal: controller.signal, onProgress }), reason);
      }
      expect(threadCount()).toBe(threadsBefore);
    });
  });

  test.each([0, 2])('what was decrypted before the abort is zeroed (workers: %s)', async (workers) => {
    const controller = new AbortController();
    const outputs: Uint8Array[] = [];
    let plaintextBeforeAbort = false;
    const reader = openReader(bytes);
    const { header, payloadKey } = await prepareOpen(reader, { identities });
    const decrypting = decryptPayload(reader, header, payloadKey, {
      entries: new Set([0, 1]),
      digest: false,
      workers,
      signal: controller.signal,
      allocate: (size: number) => {
        const output = new Uint8Array(size);
        outputs.push(output);
        return output;
      },
      onProgress: (done: number) => {
        if (done <= 8 * MiB || controller.signal.aborted) return;
        // Progress is reported once a task's plaintext is in place: the wipe must undo it.
        plaintextBeforeAbort = outputs[1]!.some((byte) => byte !== 0);
        controller.abort();
      },
    });
    await expectOvsealError(decrypting, ['ERR_ABORTED']);
    expect(plaintextBeforeAbort).toBe(true);
    for (const output of outputs) expect(output.every((byte) => byte === 0)).toBe(true);
  });

  test('a stream that stalls is abandoned as soon as the signal fires', async () => {
    for (const workers of [0, 2]) {
      const controller = new AbortController();
      setTimeout(() => controller.abort('timeout'), 50);
      await expectAborted(open(stalling(6 * MiB), { identities, workers, signal: controller.signal }), 'timeout');
    }
  });

  test('openStream ends with an AbortError at the next chunk', async () => {
    const controller = new AbortController();
    const chunks: Uint8Array[] = [];
    const iterate = async () => {
      for await (const chunk of openStream(bytes, { identities, signal: controller.signal })) {
        chunks.push(chunk.data);
        if (chunks.length === 3) controller.abort('enough');
      }
    };
    await expectAborted(iterate(), 'enough');
    expect(chunks).toHaveLength(3);
  });

  test('an aborted seal leaves no output file and no temporary file', async () => {
    await withTempDir(async (dir) => {
      const output = join(dir, 'sealed.ovseal');
      const controller = new AbortController();
      const reason = new Error('user cancelled');
      const sealing = seal({
        output,
        entries: [{ name: 'model.bin', role: 'weights', data: WEIGHTS }],
        metadata: { name: 'abort', version: '1' },
        recipients: [key.recipient],
        signal: controller.signal,
        onProgress: (done) => {
          if (done > 4 * MiB) controller.abort(reason);
        },
      });
      await expectAborted(sealing, reason);
      expect(await readdir(dir)).toEqual([]);
      // A stream input that stalls is abandoned too.
      const stalled = new AbortController();
      setTimeout(() => stalled.abort('late'), 50);
      const never = (async function* () {
        yield randomBytes(1000);
        await new Promise(() => {});
      })();
      await expectAborted(
        seal({
          output,
          entries: [{ name: 'w', role: 'weights', stream: never }],
          metadata: { name: 'a', version: '1' },
          recipients: [key.recipient],
          signal: stalled.signal,
        }),
        'late',
      );
      await expectAborted(
        sealToBuffer({
          entries: [{ name: 'w', role: 'weights', data: WEIGHTS }],
          metadata: { name: 'a', version: '1' },
          recipients: [key.recipient],
          signal: AbortSignal.abort('no'),
        }),
        'no',
      );
      expect(await readdir(dir)).toEqual([]);
    });
  });

  test('without a signal firing, the same calls succeed', async () => {
    const controller = new AbortController();
    const opened = await open(chunked(bytes, [MiB]), { identities, signal: controller.signal });
    expect(bytesEqual(opened.get('model.bin'), WEIGHTS)).toBe(true);
    opened.dispose();
    await sleep(1);
  });
});

describe('text streams', () => {
  test('sealing a stream that yields text is refused (it would be sealed re-encoded)', async () => {
    const text = Readable.from([randomBytes(4096)]).setEncoding('latin1');
    const error = await expectOvsealError(
      sealToBuffer({
        entries: [{ name: 'w', role: 'weights', stream: text }],
        metadata: { name: 't', version: '1' },
        recipients: [key.recipient],
      }),
      ['ERR_INVALID_ARGUMENT'],
    );
    expect(error.message).toContain('entry w');
    expect(error.hint).toContain('encoding');
  });

  test('opening a container from a stream that yields text is refused', async () => {
    const text = Readable.from(chunked(bytes)).setEncoding('latin1');
    await expectOvsealError(open(text, { identities }), ['ERR_INVALID_ARGUMENT']);
  });
});
