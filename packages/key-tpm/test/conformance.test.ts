/**
 * The provider contract (@ovseal/container/testkit) for every TPM stanza type: tpm-ecdh and
 * tpm-rsa device keys and tpm-seal on swtpm (the other key lives on a second swtpm), and the
 * software tpm-ecdh identity (no TPM).
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, test } from 'vitest';
import { providerConformanceChecks, type ProviderUnderTest } from '@ovseal/container/testkit';
import {
  initDeviceKey,
  SoftwareEcdhIdentity,
  TpmEcdhRecipient,
  tpmIdentityFromUri,
  tpmRecipientFromUri,
  TpmSealIdentity,
  TpmSealRecipient,
} from '../src/index.js';
import { describeTpm, useSwtpm } from './helpers.js';

const softwareKey = () => new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

describe('software tpm-ecdh keeps the provider contract', () => {
  const identity = softwareKey();
  const subject: ProviderUnderTest = {
    name: 'tpm-ecdh (software)',
    recipient: new TpmEcdhRecipient(identity.publicKeyPem),
    identity,
    otherIdentity: softwareKey(),
  };
  for (const check of providerConformanceChecks(() => subject)) test(check.name, () => check.run());
});

describeTpm('TPM providers keep the provider contract (swtpm)', () => {
  const a = useSwtpm();
  const b = useSwtpm();
  const subjects = new Map<string, ProviderUnderTest>();

  beforeAll(async () => {
    for (const [index, type] of (['tpm-ecdh', 'tpm-rsa'] as const).entries()) {
      const handle = 0x81000120 + index;
      const [mine, other] = [await initDeviceKey({ tcti: a.tcti, type, handle }), await initDeviceKey({ tcti: b.tcti, type, handle })];
      subjects.set(type, {
        name: `${type} (swtpm)`,
        recipient: tpmRecipientFromUri(mine.recipientUri),
        identity: await tpmIdentityFromUri(mine.identityUri),
        otherIdentity: await tpmIdentityFromUri(other.identityUri),
      });
    }
    subjects.set('tpm-seal', {
      name: 'tpm-seal (swtpm)',
      recipient: new TpmSealRecipient({ tcti: a.tcti }),
      identity: new TpmSealIdentity({ tcti: a.tcti }),
      otherIdentity: new TpmSealIdentity({ tcti: b.tcti }),
    });
  });

  for (const type of ['tpm-ecdh', 'tpm-rsa', 'tpm-seal']) {
    describe(type, () => {
      for (const check of providerConformanceChecks(() => subjects.get(type)!)) test(check.name, () => check.run());
    });
  }
});
