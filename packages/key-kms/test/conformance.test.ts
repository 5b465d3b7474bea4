/** The provider contract (@ovseal/container/testkit) for `aws-kms` stanzas, against kms-local. */
import { afterAll, beforeAll, describe, test } from 'vitest';
import { providerConformanceChecks, type ProviderUnderTest } from '@ovseal/container/testkit';
import { startKmsLocal, type KmsLocal } from '@ovseal/kms-local';
import { KmsIdentity, KmsRecipient } from '../src/index.js';
import { localOptions } from './helpers.js';

let kms: KmsLocal;
let subject: ProviderUnderTest;
beforeAll(async () => {
  kms = await startKmsLocal();
  const [key, other] = [await kms.createKey(), await kms.createKey()];
  const options = localOptions(kms);
  subject = {
    name: 'aws-kms (kms-local)',
    recipient: new KmsRecipient(key.arn, options),
    identity: new KmsIdentity(key.arn, options),
    otherIdentity: new KmsIdentity(other.arn, options),
  };
});
afterAll(async () => {
  await kms.close();
});

describe('key-kms keeps the provider contract', () => {
  for (const check of providerConformanceChecks(() => subject)) test(check.name, () => check.run());
});
