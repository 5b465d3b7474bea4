/** The provider contract (@ovseal/container/testkit) for `env` stanzas. */
import { describe, test } from 'vitest';
import { providerConformanceChecks } from '@ovseal/container/testkit';
import { EnvIdentity, EnvRecipient, encodeKey, generateKey } from '@ovseal/key-file';

describe('env keys keep the provider contract', () => {
  const env = { MODEL_KEY: encodeKey(generateKey()), OTHER_KEY: encodeKey(generateKey()) };
  const subject = {
    name: 'env',
    recipient: EnvRecipient.fromEnv('MODEL_KEY', env),
    identity: EnvIdentity.fromEnv('MODEL_KEY', env),
    otherIdentity: EnvIdentity.fromEnv('OTHER_KEY', env),
  };
  for (const check of providerConformanceChecks(() => subject)) test(check.name, () => check.run());
});
