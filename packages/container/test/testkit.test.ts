/**
 * @ovseal/container/testkit: the provider contract passes for a provider that keeps it, and each
 * check fails for a provider that breaks what it checks (so none of them can pass vacuously).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { AuthenticationFailedError, type Identity, type Recipient, type Stanza, type WrapContext } from '@ovseal/container';
import {
  checkProviderConformance,
  providerConformanceChecks,
  ProviderConformanceError,
  type ProviderUnderTest,
} from '@ovseal/container/testkit';
import { testKey } from './helpers.js';

function conforming(): ProviderUnderTest {
  const key = testKey();
  return { name: 'test-kek', recipient: key.recipient, identity: key.identity, otherIdentity: testKey().identity };
}

/** A KEK provider with switches that break one rule each. */
function broken(flaw: 'no-aad' | 'throws-not-mine' | 'no-tag-check' | 'fixed-nonce' | 'describes-all'): ProviderUnderTest {
  const make = (kek: Uint8Array) => {
    const id = kek.subarray(0, 4).toString();
    const aad = (context: WrapContext) => (flaw === 'no-aad' ? Buffer.alloc(0) : context.aad);
    const recipient: Recipient = {
      async wrap(dataKey, context) {
        const nonce = flaw === 'fixed-nonce' ? Buffer.alloc(12) : randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', kek, nonce).setAAD(aad(context));
        return [{ type: 'flawed', args: [id], body: Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]) }];
      },
      ...(flaw === 'describes-all'
        ? { describes: () => true }
        : { describes: (stanza: Stanza) => stanza.type === 'flawed' && stanza.args[0] === id }),
    };
    const identity: Identity = {
      async unwrap(stanzas, context) {
        const ours = stanzas.filter((stanza) => stanza.type === 'flawed' && stanza.args[0] === id);
        if (ours.length === 0) {
          if (flaw === 'throws-not-mine') throw new AuthenticationFailedError();
          return null;
        }
        const body = ours[0]!.body;
        const decipher = createDecipheriv('aes-256-gcm', kek, body.subarray(0, 12)).setAAD(aad(context));
        const dataKey = decipher.update(body.subarray(12, 44));
        if (flaw === 'no-tag-check') return dataKey;
        decipher.setAuthTag(body.subarray(44));
        try {
          decipher.final();
        } catch {
          throw new AuthenticationFailedError();
        }
        return dataKey;
      },
    };
    return { recipient, identity };
  };
  const [mine, other] = [make(randomBytes(32)), make(randomBytes(32))];
  return { name: `flawed (${flaw})`, recipient: mine.recipient, identity: mine.identity, otherIdentity: other.identity };
}

describe('provider conformance kit', () => {
  for (const check of providerConformanceChecks(conforming)) {
    test(`the test provider: ${check.name}`, () => check.run());
  }

  test.each([
    ['no-aad', 'a stanza moved to another container'],
    ['throws-not-mine', 'another key of the provider answers "not mine"'],
    ['no-tag-check', 'a stanza with an altered body'],
    ['fixed-nonce', 'two wraps of the same data key differ'],
    ['describes-all', 'describes (when the recipient has it)'],
  ] as const)('a provider with the flaw %s fails the check "%s…"', async (flaw, failing) => {
    const error = await checkProviderConformance(broken(flaw)).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ProviderConformanceError);
    const failures = (error as ProviderConformanceError).failures.map((failure) => failure.check);
    expect(
      failures.some((name) => name.startsWith(failing)),
      failures.join('; '),
    ).toBe(true);
    expect((error as ProviderConformanceError).code).toBe('ERR_PROVIDER_CONFORMANCE');
  });

  test('checkProviderConformance resolves for a provider that keeps the contract', async () => {
    await expect(checkProviderConformance(conforming())).resolves.toBeUndefined();
  });
});
