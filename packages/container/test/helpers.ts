/**
 * Test-only key provider and helpers for the container suites.
 *
 * The container package must not depend on any key provider (not even as a dev dependency), so
 * these suites use a tiny provider of their own: a 256-bit key-encryption key that wraps the data
 * key with AES-256-GCM, bound to the container by `ctx.aad` (stanza type `test-kek`, args [key id]).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { inspect } from 'node:util';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { AuthenticationFailedError, OvsealError, type Identity, type Recipient, type Stanza, type WrapContext } from '@ovseal/container';

export const STANZA_TYPE = 'test-kek';

/**
 * An expiry that is always in the future (whole seconds, as headers store it): a fixed date would
 * make a test fail once the calendar passes it. Tests of expiry itself pass a fixed `now`.
 */
export const FAR_FUTURE = new Date((Math.floor(Date.now() / 1000) + 50 * 365 * 86_400) * 1000);

function keyIdOf(kek: Uint8Array): string {
  return createHash('sha256').update('test kek id\n').update(kek).digest('hex').slice(0, 16);
}

/** Wraps the data key under a KEK. `padArgs` adds bulky arguments (to grow a header on purpose). */
export class TestRecipient implements Recipient {
  readonly keyId: string;
  constructor(
    private readonly kek: Uint8Array,
    private readonly options: { padArgs?: number; stanzaType?: string } = {},
  ) {
    this.keyId = keyIdOf(kek);
  }

  async wrap(dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]> {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.kek, nonce);
    cipher.setAAD(context.aad);
    const body = Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);
    const padding = Array.from({ length: this.options.padArgs ?? 0 }, () => 'p'.repeat(1000));
    return [{ type: this.options.stanzaType ?? STANZA_TYPE, args: [this.keyId, ...padding], body }];
  }
}

/**
 * Unwraps `test-kek` stanzas of its own key id; `null` for any other stanza ("not mine"). A stanza
 * with our key id that does not decrypt is a fatal authentication failure, as in real providers.
 */
export class TestIdentity implements Identity {
  readonly keyId: string;
  /** How many times unwrap was called (to check that refused containers cost no key operation). */
  calls = 0;
  constructor(private readonly kek: Uint8Array) {
    this.keyId = keyIdOf(kek);
  }

  async unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    this.calls++;
    const ours = stanzas.filter((s) => s.type === STANZA_TYPE && s.args[0] === this.keyId);
    for (const stanza of ours) {
      if (stanza.body.length !== 12 + 32 + 16) continue;
      const decipher = createDecipheriv('aes-256-gcm', this.kek, stanza.body.subarray(0, 12));
      decipher.setAAD(context.aad);
      decipher.setAuthTag(stanza.body.subarray(44));
      const dataKey = decipher.update(stanza.body.subarray(12, 44));
      try {
        decipher.final();
        return dataKey;
      } catch {
        dataKey.fill(0);
      }
    }
    if (ours.length > 0) throw new AuthenticationFailedError();
    return null;
  }
}

/** A fresh key pair of the test provider. */
export function testKey(): { kek: Uint8Array; recipient: TestRecipient; identity: TestIdentity } {
  const kek = randomBytes(32);
  return { kek, recipient: new TestRecipient(kek), identity: new TestIdentity(kek) };
}

/** Deterministic pseudo-random bytes (so a failing case can be reproduced from its seed). */
export function pseudoRandomBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let counter = 0;
  for (let offset = 0; offset < length; offset += 32) {
    const block = createHash('sha256').update(`${seed}:${counter++}`).digest();
    out.set(block.subarray(0, Math.min(32, length - offset)), offset);
  }
  return out;
}

/** Yields `bytes` as a stream of chunks of the given sizes (cycled), possibly with empty chunks. */
export async function* chunked(bytes: Uint8Array, sizes: readonly number[] = [65536]): AsyncGenerator<Uint8Array> {
  const cycle = sizes.some((size) => size > 0) ? sizes : [1];
  let offset = 0;
  let i = 0;
  while (offset < bytes.length) {
    const size = cycle[i++ % cycle.length]!;
    yield bytes.slice(offset, offset + size);
    offset += size;
  }
}

/** Awaits a promise that must reject with an OvsealError; returns it. */
export async function expectOvsealError(promise: Promise<unknown>, codes?: readonly string[]): Promise<OvsealError> {
  let error: unknown;
  let value: unknown;
  try {
    value = await promise;
  } catch (caught) {
    error = caught;
  }
  if (error === undefined)
    throw new Error(`expected an OvsealError${codes ? ` (${codes.join(' | ')})` : ''}, but the call returned ${describe(value)}`);
  if (!(error instanceof OvsealError)) throw new Error(`expected an OvsealError, got ${inspect(error)}`, { cause: error });
  if (codes) expect(codes).toContain(error.code);
  return error;
}

function describe(value: unknown): string {
  if (value && typeof value === 'object' && 'entries' in value) return 'an opened container (plaintext released!)';
  return typeof value;
}

/** Drains an async iterable (openStream); returns the chunks. */
export async function drain<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ovseal-test-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Whether a missing part must fail the test instead of skipping it (CI sets OVSEAL_REQUIRE_ALL=1). */
export const REQUIRE_ALL = process.env.OVSEAL_REQUIRE_ALL === '1';

/**
 * The real-model fixtures folder: OVSEAL_FIXTURES, default ../shared/fixtures next to the repo.
 * `dir` is null when it is absent, and `message` then says how to get the data.
 */
export function locateFixtures(): { dir: string | null; message: string } {
  const dir = process.env.OVSEAL_FIXTURES ? resolve(process.env.OVSEAL_FIXTURES) : resolve(REPO_ROOT, '../shared/fixtures');
  if (existsSync(join(dir, 'openvino-ir')) || existsSync(join(dir, 'onnx'))) return { dir, message: `fixtures: ${dir}` };
  return {
    dir: null,
    message:
      `real-model fixtures not found at ${dir}: set OVSEAL_FIXTURES to a folder laid out as in shared/fixtures/SOURCES.md ` +
      '(openvino-ir/<model>/model.xml + model.bin from openvinotoolkit/model_server src/test; onnx/pytorch-converted/<case>/ ' +
      'and onnx/light/*.onnx from onnx/onnx onnx/backend/test/data)',
  };
}
