import { startKmsLocal, type KmsLocal } from '@ovseal/kms-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { KmsDiscoveryIdentity, KmsIdentity, KmsRecipient, kmsIdentityFromUri, kmsRecipientFromUri } from '../src/index.js';
import { newContext, newDataKey } from './helpers.js';

let kms: KmsLocal;
beforeAll(async () => {
  kms = await startKmsLocal();
});
afterAll(async () => {
  await kms.close();
});

const ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('KMS URIs', () => {
  it('parses key ARNs, alias ARNs, alias names and key ids', () => {
    for (const uri of [
      `aws-kms:${ARN}`,
      'aws-kms:arn:aws:kms:eu-west-1:111122223333:alias/models',
      'aws-kms:alias/models',
      'aws-kms:alias/team/models?region=eu-west-1',
      'aws-kms:1234abcd-12ab-34cd-56ef-1234567890ab',
      'aws-kms:mrk-1234abcd12ab34cd56ef1234567890ab',
    ]) {
      expect(kmsRecipientFromUri(uri)).toBeInstanceOf(KmsRecipient);
      expect(kmsIdentityFromUri(uri)).toBeInstanceOf(KmsIdentity);
    }
    expect(kmsRecipientFromUri(`aws-kms:${ARN}`).keyId).toBe(ARN);
  });

  it('parses discovery URIs with their filter (identities only)', () => {
    const identity = kmsIdentityFromUri('aws-kms:discovery?account=111122223333,444455556666&region=eu-west-1');
    expect(identity).toBeInstanceOf(KmsDiscoveryIdentity);
    expect((identity as KmsDiscoveryIdentity).filter).toEqual({ accountIds: ['111122223333', '444455556666'], regions: ['eu-west-1'] });
    expect((kmsIdentityFromUri('aws-kms:discovery') as KmsDiscoveryIdentity).filter).toEqual({});
    expect(() => kmsRecipientFromUri('aws-kms:discovery')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('rejects malformed URIs with ERR_INVALID_ARGUMENT and a hint', () => {
    for (const uri of [
      'kms:alias/x',
      'aws-kms:',
      'aws-kms:not a key',
      'aws-kms:alias/x?profile=p',
      `aws-kms:${ARN}?region=us-east-1`,
      'aws-kms:discovery?account=12',
      'aws-kms:arn:aws:s3:::bucket',
    ]) {
      expect(() => kmsIdentityFromUri(uri), uri).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', hint: expect.any(String) }),
      );
    }
  });

  it('honours the SDK environment (AWS_ENDPOINT_URL_KMS, AWS_REGION, AWS_ACCESS_KEY_ID…) when given no options', async () => {
    const key = await kms.createKey({ alias: 'alias/from-env' });
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_KMS: kms.endpoint,
      AWS_REGION: kms.region,
      AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
      AWS_CONFIG_FILE: '/nonexistent/ovseal-test-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/ovseal-test-credentials',
    });
    delete process.env['AWS_PROFILE'];
    delete process.env['AWS_SESSION_TOKEN'];
    try {
      const context = newContext();
      const dataKey = newDataKey();
      const stanzas = await kmsRecipientFromUri('aws-kms:alias/from-env').wrap(dataKey, context);
      expect(stanzas[0]?.args).toEqual([key.arn]);
      expect(await kmsIdentityFromUri(`aws-kms:${key.arn}`).unwrap(stanzas, context)).toEqual(dataKey);
    } finally {
      process.env = saved;
    }
  });
});
