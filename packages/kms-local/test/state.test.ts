import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { startKmsLocal } from '../src/index.js';
import { clientFor } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kms-local-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('state file', () => {
  it('survives a restart: keys, aliases, rotations, states and old ciphertexts', async () => {
    const stateFile = join(dir, 'kms.json');
    const first = await startKmsLocal({ stateFile });
    const client = clientFor(first);
    const { KeyMetadata } = await client.send(new CreateKeyCommand({ Description: 'persisted' }));
    const arn = KeyMetadata!.Arn!;
    await client.send(new CreateAliasCommand({ AliasName: 'alias/persisted', TargetKeyId: arn }));
    const plaintext = randomBytes(32);
    const before = await client.send(new EncryptCommand({ KeyId: arn, Plaintext: plaintext, EncryptionContext: { c: '1' } }));
    await client.send(new RotateKeyOnDemandCommand({ KeyId: arn }));
    const after = await client.send(new EncryptCommand({ KeyId: 'alias/persisted', Plaintext: plaintext, EncryptionContext: { c: '1' } }));
    const disabled = await client.send(new CreateKeyCommand({}));
    await client.send(new DisableKeyCommand({ KeyId: disabled.KeyMetadata!.KeyId }));
    client.destroy();
    await first.close();

    const second = await startKmsLocal({ stateFile });
    const again = clientFor(second);
    try {
      expect(second.port).not.toBe(0);
      for (const blob of [before.CiphertextBlob, after.CiphertextBlob]) {
        const { Plaintext } = await again.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { c: '1' } }));
        expect(Buffer.from(Plaintext!)).toEqual(plaintext);
      }
      expect((await again.send(new DescribeKeyCommand({ KeyId: 'alias/persisted' }))).KeyMetadata).toMatchObject({
        Arn: arn,
        Description: 'persisted',
      });
      expect(second.describeKey(arn)).toMatchObject({ materialVersions: 2, aliases: ['alias/persisted'] });
      expect(second.describeKey(disabled.KeyMetadata!.Arn!)?.state).toBe('Disabled');
    } finally {
      again.destroy();
      await second.close();
    }
  });

  it('writes a change before answering, atomically, readable by its owner only', async () => {
    const stateFile = join(dir, 'kms.json');
    const kms = await startKmsLocal({ stateFile });
    const client = clientFor(kms);
    try {
      const { KeyMetadata } = await client.send(new CreateKeyCommand({}));
      // No close(): what is on disk right after the answer is what a crash would leave.
      const onDisk = JSON.parse(await readFile(stateFile, 'utf8')) as { format: string; keys: { keyId: string }[] };
      expect(onDisk.format).toBe('kms-local-state');
      expect(onDisk.keys.map((key) => key.keyId)).toContain(KeyMetadata!.KeyId);
      expect((await stat(stateFile)).mode & 0o777).toBe(0o600);

      await Promise.all(Array.from({ length: 20 }, () => client.send(new CreateKeyCommand({}))));
      const final = JSON.parse(await readFile(stateFile, 'utf8')) as { keys: unknown[] };
      expect(final.keys).toHaveLength(21);
      expect(await readdir(dir)).toEqual(['kms.json']);
    } finally {
      client.destroy();
      await kms.close();
    }
  });

  it('refuses to start on a corrupt state file and leaves it untouched', async () => {
    const stateFile = join(dir, 'kms.json');
    await writeFile(stateFile, '{"format":"kms-local-state","version":1,"keys":[');
    await expect(startKmsLocal({ stateFile })).rejects.toThrow(/not valid JSON/);
    await writeFile(stateFile, '{"something":"else"}');
    await expect(startKmsLocal({ stateFile })).rejects.toThrow(/not a kms-local state file/);
    expect(await readFile(stateFile, 'utf8')).toBe('{"something":"else"}');
  });
});
