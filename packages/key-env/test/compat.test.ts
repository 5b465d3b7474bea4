/** @ovseal/key-env is a compatible entry: the same classes and function as @ovseal/key-file's. */
import { expect, test } from 'vitest';
import * as keyFile from '@ovseal/key-file';
import * as keyEnv from '@ovseal/key-env';

test('key-env re-exports the env keys of key-file, nothing else', () => {
  expect(Object.keys(keyEnv).sort()).toEqual(['EnvIdentity', 'EnvRecipient', 'readEnvKey']);
  expect(keyEnv.EnvRecipient).toBe(keyFile.EnvRecipient);
  expect(keyEnv.EnvIdentity).toBe(keyFile.EnvIdentity);
  expect(keyEnv.readEnvKey).toBe(keyFile.readEnvKey);
});
