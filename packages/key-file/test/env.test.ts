import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { inspect, open, OvsealError, sealToBuffer } from '@ovseal/container';
import {
  EnvIdentity,
  EnvRecipient,
  encodeKey,
  FileIdentity,
  FileRecipient,
  generateKey,
  readEnvKey,
  type KeyFileError,
} from '@ovseal/key-file';

const MODEL = new Uint8Array(Buffer.from('onnx bytes'));
const VARIABLE = 'OVSEAL_TEST_KEY_ENV';

afterEach(() => {
  delete process.env[VARIABLE];
});

function expectCode(run: () => unknown, code: string): OvsealError {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected ${code}`).toBeInstanceOf(OvsealError);
  expect((error as OvsealError).code).toBe(code);
  return error as OvsealError;
}

async function sealWith(recipients: FileRecipient[]) {
  return sealToBuffer({ entries: [{ name: 'model.onnx', role: 'onnx', data: MODEL }], metadata: { name: 'm', version: '1' }, recipients });
}

describe('readEnvKey', () => {
  test('reads base64url (43 characters) and the checksummed OVSEAL-KEK-1 form to the same key', () => {
    const key = generateKey();
    const bare = Buffer.from(key).toString('base64url');
    expect(bare).toHaveLength(43);
    const env = { A: bare, B: encodeKey(key), C: `  ${encodeKey(key)}\n`, D: `${bare}\n` };
    for (const name of Object.keys(env)) {
      expect(Buffer.from(readEnvKey(name, env)).equals(Buffer.from(key)), name).toBe(true);
    }
  });

  test('uses process.env by default, and drops the variable from it once read (child processes never inherit it)', async () => {
    const key = generateKey();
    process.env[VARIABLE] = encodeKey(key);
    expect(Buffer.from(readEnvKey(VARIABLE)).equals(Buffer.from(key))).toBe(true);
    expect(process.env[VARIABLE]).toBeUndefined();
    process.env[VARIABLE] = encodeKey(key);
    EnvIdentity.fromEnv(VARIABLE);
    expect(process.env[VARIABLE]).toBeUndefined();
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync('env', { encoding: 'utf8' })).not.toContain(VARIABLE);
    // An environment object of the caller's own is left as it is.
    const own = { K: encodeKey(key) };
    readEnvKey('K', own);
    expect(own.K).toBe(encodeKey(key));
  });

  test('an unset or empty variable: ERR_KEY_NOT_FOUND, with a hint', () => {
    const unset = expectCode(() => readEnvKey(VARIABLE), 'ERR_KEY_NOT_FOUND');
    expect(unset.message).toContain(VARIABLE);
    expect(unset.hint).toContain(VARIABLE);
    expectCode(() => readEnvKey('X', { X: '' }), 'ERR_KEY_NOT_FOUND');
    expectCode(() => EnvIdentity.fromEnv(VARIABLE), 'ERR_KEY_NOT_FOUND');
    expectCode(() => EnvRecipient.fromEnv(VARIABLE), 'ERR_KEY_NOT_FOUND');
  });

  test('anything else: ERR_KEY_FORMAT', () => {
    const key = generateKey();
    const encoded = encodeKey(key);
    const bad = {
      short: Buffer.from(key.subarray(0, 31)).toString('base64url'),
      long: Buffer.from(Buffer.concat([key, Buffer.of(1)])).toString('base64url'),
      standardBase64: Buffer.from(key).toString('base64'), // '=' padding, maybe '+' or '/'
      damaged: `${encoded.slice(0, -3)}${encoded.at(-3) === 'A' ? 'B' : 'A'}${encoded.slice(-2)}`,
      hex: Buffer.from(key).toString('hex'),
      words: 'correct horse battery staple',
    };
    for (const name of Object.keys(bad)) expectCode(() => readEnvKey(name, bad), 'ERR_KEY_FORMAT');
  });
});

describe('EnvRecipient and EnvIdentity', () => {
  test('seal with a key from a variable, open with it', async () => {
    const key = generateKey();
    const env = { KEY: encodeKey(key) };
    const bytes = await sealWith([EnvRecipient.fromEnv('KEY', env)]);
    const info = await inspect(bytes);
    expect(info.recipients).toEqual([{ type: 'env', args: [new FileRecipient(key).keyId] }]);
    expect((await open(bytes, { identities: [EnvIdentity.fromEnv('KEY', env)] })).get('model.onnx')).toEqual(MODEL);
  });

  test("the same key in a file and in a variable open each other's stanzas", async () => {
    const key = generateKey();
    const env = { KEY: Buffer.from(key).toString('base64url') };
    const envSealed = await sealWith([EnvRecipient.fromEnv('KEY', env)]);
    expect((await open(envSealed, { identities: [new FileIdentity(key)] })).get('model.onnx')).toEqual(MODEL);
    const fileSealed = await sealWith([new FileRecipient(key)]);
    expect((await open(fileSealed, { identities: [EnvIdentity.fromEnv('KEY', env)] })).get('model.onnx')).toEqual(MODEL);
  });

  test('another key in the variable: ERR_NO_MATCHING_KEY', async () => {
    const bytes = await sealWith([new FileRecipient(generateKey())]);
    let error: unknown;
    try {
      await open(bytes, { identities: [EnvIdentity.fromEnv('KEY', { KEY: encodeKey(generateKey()) })] });
    } catch (caught) {
      error = caught;
    }
    expect((error as OvsealError).code).toBe('ERR_NO_MATCHING_KEY');
  });
});

describe('key-text.json: environment variables (docs/FORMAT.md R-KT-1…3)', () => {
  const VECTORS = new URL('../../../test-fixtures/vectors/', import.meta.url).pathname;
  const { cases } = JSON.parse(readFileSync(join(VECTORS, 'key-text.json'), 'utf8')) as {
    cases: { name: string; source: string; text: string; kek?: string; error?: string }[];
  };
  const envCases = cases.filter((c) => c.source === 'env');

  test('has accepted and refused values', () => {
    expect(envCases.some((c) => c.kek) && envCases.some((c) => c.error)).toBe(true);
  });

  test.each(envCases.map((c) => [c.name, c] as const))('%s', (_name, keyCase) => {
    let outcome: { kek: string } | { error: string };
    try {
      outcome = { kek: Buffer.from(readEnvKey('OVSEAL_KEY', { OVSEAL_KEY: keyCase.text })).toString('hex') };
    } catch (error) {
      outcome = { error: (error as KeyFileError).code };
    }
    expect(outcome).toEqual(keyCase.kek ? { kek: keyCase.kek } : { error: keyCase.error });
  });
});
