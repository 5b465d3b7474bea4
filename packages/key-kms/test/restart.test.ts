import { open, sealToBuffer } from '@ovseal/container';
import { startKmsLocal } from '@ovseal/kms-local';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { KmsIdentity, KmsRecipient, kmsIdentityFromUri, kmsRecipientFromUri } from '../src/index.js';
import { localOptions, newContext, newDataKey } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'key-kms-restart-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('across a kms-local restart', () => {
  it('wraps, restarts the server from its state file (on another port), then unwraps', async () => {
    const stateFile = join(dir, 'kms.json');
    const first = await startKmsLocal({ stateFile });
    const key = await first.createKey({ alias: 'alias/restart' });
    const context = newContext();
    const dataKey = newDataKey();
    const stanzas = await new KmsRecipient('alias/restart', localOptions(first)).wrap(dataKey, context);
    await first.close();

    const second = await startKmsLocal({ stateFile });
    try {
      expect(await new KmsIdentity(key.arn, localOptions(second)).unwrap(stanzas, context)).toEqual(dataKey);
      expect(await new KmsIdentity('alias/restart', localOptions(second)).unwrap(stanzas, context)).toEqual(dataKey);
    } finally {
      await second.close();
    }
  });
});

describe('with @ovseal/container', () => {
  it('seals a model with two KMS recipients and opens it with either identity', async () => {
    const kms = await startKmsLocal();
    try {
      const east = await kms.createKey({ region: 'us-east-1' });
      const west = await kms.createKey({ region: 'eu-west-1', alias: 'alias/models' });
      const options = { endpoint: kms.endpoint, credentials: kms.credentials };
      const model = new Uint8Array(randomBytes(200_000));
      const sealed = await sealToBuffer({
        entries: [{ name: 'model.onnx', role: 'onnx', data: model }],
        metadata: { name: 'classifier', version: '7' },
        recipients: [
          kmsRecipientFromUri(`aws-kms:${east.arn}`, options),
          kmsRecipientFromUri('aws-kms:alias/models?region=eu-west-1', options),
        ],
      });

      for (const uri of [
        `aws-kms:${east.arn}`,
        `aws-kms:${west.arn}`,
        'aws-kms:alias/models?region=eu-west-1',
        `aws-kms:discovery?account=${kms.accountId}`,
      ]) {
        const opened = await open(sealed, { identities: [kmsIdentityFromUri(uri, options)] });
        expect(opened.info.recipients.map((r) => r.type)).toEqual(['aws-kms', 'aws-kms']);
        expect(opened.get('model.onnx')).toEqual(model);
        opened.dispose();
      }

      // Both keys disabled: open fails with the typed KMS error, not a generic "no key".
      await kms.disableKey(east.arn);
      await kms.disableKey(west.arn);
      await expect(open(sealed, { identities: [kmsIdentityFromUri(`aws-kms:${east.arn}`, options)] })).rejects.toMatchObject({
        code: 'ERR_KMS_KEY_DISABLED',
      });
      // A KMS identity for a key the container does not use: the container reports no match.
      const unrelated = await kms.createKey();
      await expect(open(sealed, { identities: [kmsIdentityFromUri(`aws-kms:${unrelated.arn}`, options)] })).rejects.toMatchObject({
        code: 'ERR_NO_MATCHING_KEY',
      });
    } finally {
      await kms.close();
    }
  });
});
