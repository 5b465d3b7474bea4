/**
 * The provider contract (@ovseal/container/testkit) for both PKCS#11 stanza types, inside a real
 * SoftHSM2 token: AES key wrap (pkcs11-aes-kwp) and RSA-OAEP (pkcs11-rsa-oaep). The other key is a
 * second key of the same kind in the same token.
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import { providerConformanceChecks, type ProviderUnderTest } from '@ovseal/container/testkit';
import { Pkcs11Identity, Pkcs11Recipient } from '../src/index.js';
import { describeHsm, useSoftHsm } from './helpers.js';

describeHsm('PKCS#11 providers keep the provider contract (SoftHSM2)', () => {
  const tokens = useSoftHsm([{ label: 'conformance' }]);
  const subjects = new Map<string, ProviderUnderTest>();
  const handles: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    const token = tokens[0]!;
    await token.pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', 'kek', '--id', '01', '--usage-wrap']);
    await token.pkcs11Tool(['--keygen', '--key-type', 'AES:32', '--label', 'kek-other', '--id', '02', '--usage-wrap']);
    await token.pkcs11Tool(['--keypairgen', '--key-type', 'rsa:2048', '--label', 'rsa', '--id', '03', '--usage-wrap', '--usage-decrypt']);
    await token.pkcs11Tool([
      '--keypairgen',
      '--key-type',
      'rsa:2048',
      '--label',
      'rsa-other',
      '--id',
      '04',
      '--usage-wrap',
      '--usage-decrypt',
    ]);
    for (const [type, label] of [
      ['pkcs11-aes-kwp', 'kek'],
      ['pkcs11-rsa-oaep', 'rsa'],
    ] as const) {
      const recipient = await Pkcs11Recipient.open(token.uri({ object: label }));
      const identity = Pkcs11Identity.fromUri(token.uri({ object: label }));
      const otherIdentity = Pkcs11Identity.fromUri(token.uri({ object: `${label}-other` }));
      handles.push(recipient, identity, otherIdentity);
      // AES key wrap with padding (RFC 5649) is deterministic: the same data key wrapped for the same
      // container twice gives the same bytes. Data keys are random per container, and one container
      // never holds two stanzas of one key, so equal wraps reveal nothing a reader does not know.
      const deterministicWrap = type === 'pkcs11-aes-kwp' ? 'RFC 5649 key wrap inside the token' : undefined;
      subjects.set(type, {
        name: `${type} (SoftHSM2)`,
        recipient,
        identity,
        otherIdentity,
        ...(deterministicWrap ? { deterministicWrap } : {}),
      });
    }
  });
  afterAll(async () => {
    for (const handle of handles) await handle.close();
  });

  for (const type of ['pkcs11-aes-kwp', 'pkcs11-rsa-oaep']) {
    describe(type, () => {
      for (const check of providerConformanceChecks(() => subjects.get(type)!)) test(check.name, () => check.run());
    });
  }
});
