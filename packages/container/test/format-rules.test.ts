/**
 * Format rules added by the adversarial review (issue 10 items 6 and 8): text fields carry no control
 * or bidirectional formatting characters (a crafted model name could draw a fake "signature …
 * (trusted)" line in a terminal), and entry names stay distinct as file paths on every file system
 * (`a` next to `a/b`, names equal after case folding or Unicode normalisation). Each header here is
 * validly MACed by the data-key holder who wrote it: only the rule can refuse it.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createWrapContext, inspect, open, sealToBuffer, verify, type EntryRole } from '@ovseal/container';
import { deriveKeys } from '../dist/lib/crypto/derived-keys.js';
import { segmentNonce } from '../dist/lib/format/payload-layout.js';
import { encryptSegment } from '../dist/lib/crypto/segment-cipher.js';
import { headerArea } from './forge.js';
import { expectOvsealError, testKey } from './helpers.js';

interface Craft {
  name?: string;
  version?: string;
  entries?: { name: string; role: EntryRole; size: number }[];
  stanzaArgs?: string[];
}

/** A whole container whose header breaks one rule, with a valid MAC, commitment and an empty payload per entry. */
async function crafted(craft: Craft) {
  const key = testKey();
  const dataKey = randomBytes(32);
  const containerId = randomBytes(16);
  const salt = randomBytes(32);
  const name = craft.name ?? 'model';
  const version = craft.version ?? '1';
  const [stanza] = await key.recipient.wrap(dataKey, createWrapContext({ containerId, modelName: name, modelVersion: version }));
  const entries = craft.entries ?? [{ name: 'model.onnx', role: 'onnx' as const, size: 0 }];
  const fields = {
    containerId,
    salt,
    commitment: deriveKeys(dataKey, salt).commitment,
    segmentSize: 4096,
    payloadDigest: new Uint8Array(32),
    createdAt: 1_700_000_000,
    notAfter: 0,
    modelName: name,
    modelVersion: version,
    format: 'other' as const,
    entries,
    signature: null,
    stanzas: [{ ...stanza!, args: [...stanza!.args, ...(craft.stanzaArgs ?? [])] }],
  };
  // Every entry is empty: one sealed empty segment each (the payload is not what is tested).
  const { payloadKey } = deriveKeys(dataKey, salt);
  const payload = entries.map((_, i) => encryptSegment(payloadKey, segmentNonce(i, 0, true), new Uint8Array(0)));
  const bytes = Buffer.concat([headerArea(fields, dataKey, 4096), ...payload]);
  return { key, bytes };
}

async function expectRefused(craft: Craft, what: RegExp) {
  const { key, bytes } = await crafted(craft);
  const error = await expectOvsealError(inspect(bytes), ['ERR_MALFORMED_HEADER']);
  expect(error.message).toMatch(what);
  await expectOvsealError(open(bytes, { identities: [key.identity] }), ['ERR_MALFORMED_HEADER']);
  await expectOvsealError(verify(bytes), ['ERR_MALFORMED_HEADER']);
  expect(key.identity.calls).toBe(0);
}

const ESC = '\u001b';
const HOSTILE = [
  ['ESC (a terminal escape)', `det${ESC}[2K${ESC}[1Gsignature ed25519 by 00ff (trusted)`],
  ['CR', 'det\rfake'],
  ['BEL', 'det\u0007'],
  ['DEL', 'det\u007f'],
  ['a C1 control (CSI)', 'det\u009b2K'],
  ['a C1 control (NEL)', 'det\u0085'],
  ['a bidi override', 'det\u202eexe.txt'],
  ['a bidi isolate', 'det\u2066x\u2069'],
  ['an Arabic letter mark', 'det\u061c'],
] as const;

describe('text fields: no control or bidi formatting characters', () => {
  test('the crafting helper makes a container that opens (so each case below fails on its rule only)', async () => {
    const { key, bytes } = await crafted({ stanzaArgs: ['extra'] });
    expect((await inspect(bytes)).metadata.name).toBe('model');
    (await open(bytes, { identities: [key.identity] })).dispose();
  });

  test.each(HOSTILE)('model name with %s', async (_what, text) => {
    await expectRefused({ name: text }, /model name/);
  });

  test.each(HOSTILE)('model version with %s', async (_what, text) => {
    await expectRefused({ version: text }, /model version/);
  });

  test.each(HOSTILE)('stanza argument with %s', async (_what, text) => {
    await expectRefused({ stanzaArgs: [text] }, /stanza argument/);
  });

  test.each(HOSTILE)('entry name with %s', async (_what, text) => {
    await expectRefused({ entries: [{ name: text, role: 'aux', size: 0 }] }, /entry name/);
  });

  test('seal refuses them too (it never writes a header readers refuse)', async () => {
    const { recipient } = testKey();
    for (const [, text] of HOSTILE) {
      const entries = [{ name: 'a.bin', role: 'aux' as const, data: new Uint8Array(1) }];
      await expectOvsealError(sealToBuffer({ entries, metadata: { name: text, version: '1' }, recipients: [recipient] }), [
        'ERR_INVALID_ARGUMENT',
      ]);
      await expectOvsealError(sealToBuffer({ entries, metadata: { name: 'm', version: text }, recipients: [recipient] }), [
        'ERR_INVALID_ARGUMENT',
      ]);
      await expectOvsealError(
        sealToBuffer({ entries: [{ ...entries[0]!, name: text }], metadata: { name: 'm', version: '1' }, recipients: [recipient] }),
        ['ERR_INVALID_ARGUMENT'],
      );
    }
  });

  test('printable Unicode stays allowed', async () => {
    const { key, bytes } = await crafted({
      name: 'détecteur-文字',
      version: '4.0.0+ü',
      entries: [{ name: 'données/模型.onnx', role: 'onnx', size: 0 }],
    });
    const model = await open(bytes, { identities: [key.identity] });
    expect(model.info.metadata.name).toBe('détecteur-文字');
    model.dispose();
  });
});

describe('entry names: distinct as paths on every file system', () => {
  const entry = (name: string) => ({ name, role: 'aux' as const, size: 0 });

  test.each([
    ['a file and a file inside it as a directory', ['a', 'a/b']],
    ['the same, deeper and in the other order', ['x/y/z.bin', 'x/y']],
    ['names equal but for case', ['Model.bin', 'model.bin']],
    ['a directory equal but for case to a file', ['weights', 'WEIGHTS/part1.bin']],
    ['names equal after NFC normalisation', ['caf\u00e9.txt', 'cafe\u0301.txt']],
    ['names equal after case folding and normalisation', ['\u00c9t\u00e9', 'e\u0301te\u0301']],
  ])('refused: %s', async (_what, names) => {
    await expectRefused({ entries: names.map(entry) }, /entry name/);
    const { recipient } = testKey();
    await expectOvsealError(
      sealToBuffer({
        entries: names.map((name) => ({ name, role: 'aux' as const, data: new Uint8Array(0) })),
        metadata: { name: 'm', version: '1' },
        recipients: [recipient],
      }),
      ['ERR_INVALID_ARGUMENT'],
    );
  });

  test('siblings that merely share a prefix are fine', async () => {
    const { key, bytes } = await crafted({ entries: ['a', 'ab', 'a.b', 'b/a', 'b/ab'].map(entry) });
    (await open(bytes, { identities: [key.identity] })).dispose();
  });
});
