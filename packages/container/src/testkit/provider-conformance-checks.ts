import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { open } from '../open.js';
import { sealToBuffer } from '../seal-to-buffer.js';
import type { Identity, Recipient, Stanza, WrapContext } from '../types.js';
import { createWrapContext } from '../wrap-context.js';

/** What {@link providerConformanceChecks} tests: one key of a provider, and another key of it. */
export interface ProviderUnderTest {
  /** Names the provider in failure messages, e.g. `tpm-ecdh (swtpm)`. */
  readonly name: string;
  /** Wraps for the key under test. */
  readonly recipient: Recipient;
  /** Holds the key under test. */
  readonly identity: Identity;
  /** The same provider with another key: it must answer "not mine" to the key under test's stanzas. */
  readonly otherIdentity: Identity;
  /**
   * Why this provider's wrap is deterministic, if it is (a standard key wrap such as RFC 5649 in a
   * token): then two wraps of one data key for one container may be equal, and the freshness check
   * asks instead that wraps for two containers differ. Leave unset for every randomised wrap.
   */
  readonly deterministicWrap?: string;
}

/** One check of the provider contract, for any test runner: `test(check.name, check.run)`. */
export interface ConformanceCheck {
  readonly name: string;
  /** Resolves when the provider conforms; rejects with an `Error` that says what it did instead. */
  run(): Promise<void>;
}

const DATA_KEY_LENGTH = 32;

function newContext(fields: Partial<{ containerId: Uint8Array; modelName: string; modelVersion: string }> = {}): WrapContext {
  return createWrapContext({
    containerId: fields.containerId ?? randomBytes(16),
    modelName: fields.modelName ?? 'conformance',
    modelVersion: fields.modelVersion ?? '1.0.0',
  });
}

function hex(bytes: Uint8Array | null): string {
  return bytes === null ? 'null' : Buffer.from(bytes).toString('hex');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/**
 * The `code` of an ovseal error. By shape, not `instanceof OvsealError`: a provider package may
 * bring its own copy of @ovseal/container, whose classes are not this copy's.
 */
function codeOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_') ? code : undefined;
}

/** What a promise settled with, in words, for failure messages. */
async function outcome(unwrap: () => Promise<Uint8Array | null>): Promise<{ value?: Uint8Array | null; error?: unknown }> {
  try {
    return { value: await unwrap() };
  } catch (error) {
    return { error };
  }
}

function describeOutcome(result: { value?: Uint8Array | null; error?: unknown }): string {
  if (!('error' in result)) return result.value === null ? 'null ("not mine")' : `a data key (${hex(result.value ?? null)})`;
  const error = result.error;
  const code = codeOf(error);
  return code !== undefined ? `${code}: ${(error as Error).message}` : `an untyped error: ${inspect(error)}`;
}

async function wrapped(subject: ProviderUnderTest, dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]> {
  const stanzas = await subject.recipient.wrap(dataKey, context);
  if (!Array.isArray(stanzas) || stanzas.length === 0) throw new Error(`wrap returned ${JSON.stringify(stanzas)}, not one or more stanzas`);
  return stanzas;
}

/** Must reject with ERR_AUTHENTICATION_FAILED: the one opaque answer for a stanza of this key that does not open. */
async function expectAuthenticationFailure(unwrap: () => Promise<Uint8Array | null>, what: string): Promise<void> {
  const result = await outcome(unwrap);
  if (codeOf(result.error) === 'ERR_AUTHENTICATION_FAILED') return;
  throw new Error(`${what}: expected an ERR_AUTHENTICATION_FAILED rejection, got ${describeOutcome(result)}`);
}

function flipped(stanza: Stanza, index: number): Stanza {
  const body = Uint8Array.from(stanza.body);
  body[index]! ^= 0x01;
  return { type: stanza.type, args: [...stanza.args], body };
}

/**
 * The provider contract as checks any test runner can run (age's testkit is the model). A provider
 * that passes them binds every stanza to its container, keeps "not mine" apart from failures, and
 * never reuses a wrap:
 *
 * - a container sealed to the recipient opens with the identity;
 * - a stanza moved to another container (another id, model name or version) fails with
 *   `ERR_AUTHENTICATION_FAILED`: a provider that forgets `WrapContext.aad` fails here;
 * - another key of the same provider, and any identity given a stanza of another type, answer
 *   `null` ("not mine"), never an error;
 * - a stanza whose body was altered (first, middle or last byte) fails with
 *   `ERR_AUTHENTICATION_FAILED`, never opens and never answers "not mine";
 * - two wraps of the same data key for the same container differ (for a provider that declares a
 *   deterministic key wrap: for two containers);
 * - `describes`, where the recipient has it, is true for its own stanzas and false for others.
 *
 * `subject` is called once per check (create the provider's keys before, e.g. in `beforeAll`).
 *
 * @example
 * ```ts
 * import { providerConformanceChecks } from '@ovseal/container/testkit';
 *
 * describe('my provider', () => {
 *   for (const check of providerConformanceChecks(() => ({
 *     name: 'my-kms',
 *     recipient: new MyRecipient(keyA),
 *     identity: new MyIdentity(keyA),
 *     otherIdentity: new MyIdentity(keyB),
 *   }))) {
 *     test(check.name, () => check.run());
 *   }
 * });
 * ```
 */
export function providerConformanceChecks(subject: () => ProviderUnderTest | Promise<ProviderUnderTest>): ConformanceCheck[] {
  const check = (name: string, body: (provider: ProviderUnderTest) => Promise<void>): ConformanceCheck => ({
    name,
    run: async () => body(await subject()),
  });
  return [
    check('a container sealed to the recipient opens with the identity', async (provider) => {
      const data = randomBytes(1000);
      const sealed = await sealToBuffer({
        entries: [{ name: 'model.bin', role: 'weights', data }],
        metadata: { name: 'conformance', version: '1.0.0' },
        recipients: [provider.recipient],
      });
      const opened = await open(sealed, { identities: [provider.identity] });
      try {
        if (!sameBytes(opened.get('model.bin'), data)) throw new Error('the container opened to other bytes');
      } finally {
        opened.dispose();
      }
    }),

    check('unwrap gives back the data key that was wrapped', async (provider) => {
      const dataKey = randomBytes(DATA_KEY_LENGTH);
      const context = newContext();
      const stanzas = await wrapped(provider, dataKey, context);
      const result = await outcome(() => provider.identity.unwrap(stanzas, context));
      if (!result.value || !sameBytes(result.value, dataKey))
        throw new Error(`unwrap answered ${describeOutcome(result)}, not the data key ${hex(dataKey)}`);
    }),

    check('a stanza moved to another container fails with ERR_AUTHENTICATION_FAILED', async (provider) => {
      const context = newContext();
      const stanzas = await wrapped(provider, randomBytes(DATA_KEY_LENGTH), context);
      const elsewhere = {
        'another container id': newContext({ modelName: context.modelName, modelVersion: context.modelVersion }),
        'another model name': newContext({
          containerId: context.containerId,
          modelName: 'conformance-other',
          modelVersion: context.modelVersion,
        }),
        'another model version': newContext({ containerId: context.containerId, modelName: context.modelName, modelVersion: '2.0.0' }),
      };
      for (const [what, moved] of Object.entries(elsewhere)) {
        await expectAuthenticationFailure(() => provider.identity.unwrap(stanzas, moved), `moved to ${what}`);
      }
    }),

    check('another key of the provider answers "not mine" (null)', async (provider) => {
      const context = newContext();
      const stanzas = await wrapped(provider, randomBytes(DATA_KEY_LENGTH), context);
      const result = await outcome(() => provider.otherIdentity.unwrap(stanzas, context));
      if (!('error' in result) && result.value === null) return;
      throw new Error(`the other key answered ${describeOutcome(result)}`);
    }),

    check('a stanza of another type is "not mine" (null)', async (provider) => {
      const foreign: Stanza = { type: 'x-conformance-foreign', args: ['0123456789abcdef'], body: randomBytes(64) };
      const result = await outcome(() => provider.identity.unwrap([foreign], newContext()));
      if (!('error' in result) && result.value === null) return;
      throw new Error(`the identity answered ${describeOutcome(result)}`);
    }),

    check('a stanza with an altered body fails with ERR_AUTHENTICATION_FAILED', async (provider) => {
      const context = newContext();
      const stanzas = await wrapped(provider, randomBytes(DATA_KEY_LENGTH), context);
      for (const [index, stanza] of stanzas.entries()) {
        const positions = new Set([0, stanza.body.length >> 1, stanza.body.length - 1]);
        for (const position of positions) {
          const altered = stanzas.map((other, i) => (i === index ? flipped(other, position) : other));
          await expectAuthenticationFailure(
            () => provider.identity.unwrap(altered, context),
            `body byte ${position} of stanza ${index} flipped`,
          );
        }
      }
    }),

    check('two wraps of the same data key differ', async (provider) => {
      const dataKey = randomBytes(DATA_KEY_LENGTH);
      const context = newContext();
      const again = provider.deterministicWrap === undefined ? context : newContext();
      const [first, second] = [await wrapped(provider, dataKey, context), await wrapped(provider, dataKey, again)];
      for (const [index, stanza] of first.entries()) {
        const again = second[index];
        if (again && sameBytes(stanza.body, again.body))
          throw new Error(`stanza ${index} has the same body both times: the wrap is not fresh`);
        if (stanza.body.length >= DATA_KEY_LENGTH && Buffer.from(stanza.body).includes(Buffer.from(dataKey))) {
          throw new Error(`stanza ${index} carries the data key in clear`);
        }
      }
    }),

    check('describes (when the recipient has it) is true for its own stanzas only', async (provider) => {
      const describes = provider.recipient.describes?.bind(provider.recipient);
      if (!describes) return;
      const stanzas = await wrapped(provider, randomBytes(DATA_KEY_LENGTH), newContext());
      for (const [index, stanza] of stanzas.entries()) {
        if (!describes(stanza)) throw new Error(`describes(stanza ${index}) is false for a stanza this recipient just made`);
      }
      if (describes({ type: 'x-conformance-foreign', args: ['0123456789abcdef'], body: randomBytes(64) })) {
        throw new Error('describes is true for a stanza of another type');
      }
    }),
  ];
}
