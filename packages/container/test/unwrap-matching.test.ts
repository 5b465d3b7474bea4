/**
 * The one "try each matching stanza" loop every provider uses (issue 10 item 11, issue 15): "not
 * mine" kept apart from fatal errors, at most one attempt per key, and an outcome that does not
 * depend on the order of the stanzas.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  AuthenticationFailedError,
  createWrapContext,
  OvsealError,
  sealToBuffer,
  unwrapMatching,
  type Recipient,
  type Stanza,
  type StanzaMatcher,
} from '@ovseal/container';
import { expectOvsealError, STANZA_TYPE, testKey, TestRecipient } from './helpers.js';

const context = createWrapContext({ containerId: randomBytes(16), modelName: 'm', modelVersion: '1' });
const stanza = (key: string, body = 'x'): Stanza => ({ type: 'k', args: [key], body: Buffer.from(body) });

/** A matcher for keys named in `mine`: body "good" unwraps, "fatal" throws, "foreign" is not mine after all. */
function matcher(mine: string[]): StanzaMatcher & { attempts: string[] } {
  const attempts: string[] = [];
  return {
    attempts,
    keyOf: (s) => (s.type === 'k' && mine.includes(s.args[0]!) ? s.args[0]! : null),
    async unwrapOne(s) {
      attempts.push(s.args[0]!);
      const body = Buffer.from(s.body).toString();
      if (body === 'fatal') throw new AuthenticationFailedError();
      if (body === 'foreign') return null;
      return Buffer.alloc(32, s.args[0]!.charCodeAt(0));
    },
  };
}

describe('unwrapMatching', () => {
  test('63 stanzas for the same key: no attempt at all, a typed error naming the duplicate (item 11)', async () => {
    const m = matcher(['a']);
    const stanzas = Array.from({ length: 63 }, () => stanza('a', 'fatal'));
    const error = await expectOvsealError(unwrapMatching(stanzas, context, m), ['ERR_MALFORMED_HEADER']);
    expect(error.message).toMatch(/63 recipient stanzas .* same key/);
    expect(m.attempts).toEqual([]);
  });

  test('each key is tried once; stanzas of other keys are never tried ("not mine" is null, not an error)', async () => {
    const m = matcher(['a', 'b']);
    await expect(unwrapMatching([stanza('x'), stanza('y')], context, m)).resolves.toBeNull();
    expect(m.attempts).toEqual([]);
    await expect(unwrapMatching([stanza('x'), stanza('a', 'foreign'), stanza('b', 'foreign')], context, m)).resolves.toBeNull();
    expect(m.attempts).toEqual(['a', 'b']);
  });

  test('the outcome does not depend on the order of the stanzas', async () => {
    const cases: Stanza[][] = [
      [stanza('a', 'fatal'), stanza('b', 'good')],
      [stanza('a', 'good'), stanza('a', 'good'), stanza('b', 'good')],
      [stanza('a', 'fatal'), stanza('b', 'foreign'), stanza('x')],
      [stanza('a', 'foreign'), stanza('b', 'foreign'), stanza('b', 'good')],
      [stanza('a', 'fatal'), stanza('b', 'good'), stanza('b', 'good')],
      [stanza('b', 'good'), stanza('a', 'good')],
    ];
    for (const stanzas of cases) {
      const outcomes = new Set<string>();
      for (const order of permutations(stanzas)) {
        const result = await unwrapMatching(order, context, matcher(['a', 'b'])).then(
          (key) => (key === null ? 'null' : `key ${Buffer.from(key).toString('hex').slice(0, 2)}`),
          (error: unknown) => (error instanceof OvsealError ? error.code : `untyped ${String(error)}`),
        );
        outcomes.add(result);
      }
      expect([...outcomes], JSON.stringify(stanzas.map((s) => [s.args[0], Buffer.from(s.body).toString()]))).toHaveLength(1);
    }
  });

  test('a fatal failure of one key does not hide another key that unwraps; alone, it is thrown', async () => {
    const both = await unwrapMatching([stanza('a', 'fatal'), stanza('b', 'good')], context, matcher(['a', 'b']));
    expect(Buffer.from(both!)).toEqual(Buffer.alloc(32, 'b'.charCodeAt(0)));
    await expectOvsealError(unwrapMatching([stanza('a', 'fatal'), stanza('b', 'foreign')], context, matcher(['a', 'b'])), [
      'ERR_AUTHENTICATION_FAILED',
    ]);
  });
});

describe('recipients that describe their stanzas', () => {
  /** The test provider's recipient, declaring `describes` (the optional part of the Recipient interface). */
  class Describing extends TestRecipient implements Recipient {
    describes(s: Stanza): boolean {
      return s.type === STANZA_TYPE && s.args[0] === this.keyId;
    }
  }

  test('seal refuses two recipients for the same key: readers would refuse to try either', async () => {
    const { kek } = testKey();
    const entries = [{ name: 'a', role: 'aux' as const, data: new Uint8Array(1) }];
    const error = await expectOvsealError(
      sealToBuffer({ entries, metadata: { name: 'm', version: '1' }, recipients: [new Describing(kek), new Describing(kek)] }),
      ['ERR_INVALID_ARGUMENT'],
    );
    expect(error.message).toMatch(/same key/);
    await expect(
      sealToBuffer({ entries, metadata: { name: 'm', version: '1' }, recipients: [new Describing(kek), new Describing(randomBytes(32))] }),
    ).resolves.toBeInstanceOf(Uint8Array);
  });
});

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i]!, ...rest];
  }
}
