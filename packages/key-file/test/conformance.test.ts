/** The provider contract (@ovseal/container/testkit) for `file` stanzas. */
import { describe, test } from 'vitest';
import { providerConformanceChecks } from '@ovseal/container/testkit';
import { FileIdentity, FileRecipient, generateKey } from '@ovseal/key-file';

describe('key-file keeps the provider contract', () => {
  const key = generateKey();
  const subject = {
    name: 'file',
    recipient: new FileRecipient(key),
    identity: new FileIdentity(key),
    otherIdentity: new FileIdentity(generateKey()),
  };
  for (const check of providerConformanceChecks(() => subject)) test(check.name, () => check.run());
});
