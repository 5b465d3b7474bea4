/** The provider contract (@ovseal/container/testkit) for `env` stanzas. */
import { describe, test } from 'vitest';
import { providerConformanceChecks } from '@ovseal/container/testkit';
import { encodeKey, generateKey } from '@ovseal/key-file';
import { EnvIdentity, EnvRecipient } from '@ovseal/key-env';

describe('key-env keeps the provider contract', () => {
  const env = { MODEL_KEY: encodeKey(generateKey()), OTHER_KEY: encodeKey(generateKey()) };
  const subject = {
    name: 'env',
    recipient: EnvRecipient.fromEnv('MODEL_KEY', env),
    identity: EnvIdentity.fromEnv('MODEL_KEY', env),
    otherIdentity: EnvIdentity.fromEnv('OTHER_KEY', env),
  };
  for (const check of providerConformanceChecks(() => subject)) test(check.name, () => check.run());
});
