/**
 * Tampering: every single-bit flip of a small container, truncation, extension, reordered or
 * duplicated segments, stanzas moved between containers, wrong keys. Each must give a typed
 * OvsealError and release no plaintext.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  generateSigningKey,
  LIMITS,
  open,
  openEntry,
  openStream,
  OvsealError,
  sealToBuffer,
  verify,
  type ContainerSource,
  type OpenOptions,
  type SigningKeyPair,
} from '@ovseal/container';
import { parseHeader, parsePreamble } from '../dist/lib/format/header-codec.js';
import { bytesEqual, chunked, expectOvsealError, pseudoRandomBytes, testKey, withTempDir } from './helpers.js';

const SEG = LIMITS.minSegmentSize;
const TAG = 16;

/** Entry sizes: two segments, one segment, an empty entry, a one-byte entry (~7 KiB of payload). */
const PLAINTEXTS = [pseudoRandomBytes(SEG + 5, 1), pseudoRandomBytes(3000, 2), new Uint8Array(0), pseudoRandomBytes(1, 3)];
const NAMES = ['model.xml', 'model.bin', 'empty.txt', 'one.txt'];

type Region = readonly [name: string, start: number, end: number];

/** The byte map of a container (docs/FORMAT.md §3), from its own header. */
function regionsOf(bytes: Uint8Array): Region[] {
  const { headerLength, payloadOffset } = parsePreamble(bytes.subarray(0, 16));
  const header = parseHeader(bytes.subarray(0, headerLength));
  const coreEnd = 16 + header.core.length;
  const signatureEnd = coreEnd + (header.signature ? 1 + header.signature.publicKey.length + header.signature.signature.length : 1);
  return [
    ['magic', 0, 6],
    ['version', 6, 8],
    ['header length', 8, 12],
    ['payload offset', 12, 16],
    ['container id', 16, 32],
    ['salt', 32, 64],
    ['commitment', 64, 96],
    ['segment size', 96, 100],
    ['payload digest', 100, 132],
    ['created at', 132, 140],
    ['not after', 140, 148],
    ['names and entries', 148, coreEnd],
    ['signature', coreEnd, signatureEnd],
    ['stanzas', signatureEnd, headerLength - 32],
    ['mac', headerLength - 32, headerLength],
    ['padding', headerLength, payloadOffset],
    ['payload', payloadOffset, bytes.length],
  ];
}

/** Sealed segment positions: [entry, segment, start, end). */
function segmentsOf(bytes: Uint8Array): { entry: number; segment: number; start: number; end: number }[] {
  const { headerLength, payloadOffset } = parsePreamble(bytes.subarray(0, 16));
  const header = parseHeader(bytes.subarray(0, headerLength));
  const out = [];
  let position = payloadOffset;
  for (const [entry, { size }] of header.entries.entries()) {
    const count = Math.max(1, Math.ceil(size / header.segmentSize));
    for (let segment = 0; segment < count; segment++) {
      const plain = segment < count - 1 ? header.segmentSize : size - (count - 1) * header.segmentSize;
      out.push({ entry, segment, start: position, end: position + plain + TAG });
      position += plain + TAG;
    }
  }
  return out;
}

/** What open() did: 'OPENED' (plaintext released), an error code, or 'untyped: …'. */
async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    const result = (await run()) as { dispose?: () => void };
    result?.dispose?.();
    return 'OPENED';
  } catch (error) {
    return error instanceof OvsealError ? error.code : `untyped: ${String(error)}`;
  }
}

/** Flips every bit of [start, end) in place (restoring it after), collecting outcomes per region. */
async function flipEveryBit(
  bytes: Uint8Array,
  regions: readonly Region[],
  attempt: (bytes: Uint8Array) => Promise<string>,
  only?: (region: string) => boolean,
  /** Regions where one bit per byte (cycling through the 8) is enough. */
  sparse: readonly string[] = [],
): Promise<Map<string, Map<string, number>>> {
  const seen = new Map<string, Map<string, number>>();
  for (const [name, start, end] of regions) {
    if (only && !only(name)) continue;
    const counts = new Map<string, number>();
    seen.set(name, counts);
    for (let i = start; i < end; i++) {
      for (let bit = 0; bit < 8; bit++) {
        if (sparse.includes(name) && bit !== i % 8) continue;
        bytes[i]! ^= 1 << bit;
        try {
          const code = await attempt(bytes);
          counts.set(code, (counts.get(code) ?? 0) + 1);
        } finally {
          bytes[i]! ^= 1 << bit;
        }
      }
    }
  }
  return seen;
}

/** The outcome tables are printed with OVSEAL_VERBOSE=1 (the assertions check them either way). */
function log(text: string): void {
  if (process.env.OVSEAL_VERBOSE === '1') console.log(text);
}

function table(seen: Map<string, Map<string, number>>): string {
  return [...seen].map(([region, codes]) => `  ${region.padEnd(18)} ${[...codes].map(([c, n]) => `${c}×${n}`).join(', ')}`).join('\n');
}

function expectOnly(seen: Map<string, Map<string, number>>, allowed: Record<string, readonly string[]>): void {
  for (const [region, codes] of seen) {
    for (const code of codes.keys()) {
      expect(allowed[region] ?? [], `a flipped bit in "${region}" gave ${code}\n${table(seen)}`).toContain(code);
    }
  }
}

const MALFORMED = 'ERR_MALFORMED_HEADER';
const AUTH = 'ERR_AUTHENTICATION_FAILED';
const LIMIT = 'ERR_LIMIT_EXCEEDED';
const TRUNCATED = 'ERR_TRUNCATED';
const NO_KEY = 'ERR_NO_MATCHING_KEY';
const SIG_INVALID = 'ERR_SIGNATURE_INVALID';
const SIG_MISSING = 'ERR_SIGNATURE_MISSING';

let key: ReturnType<typeof testKey>;
let container: Uint8Array;
let signedContainer: Uint8Array;
let publisher: SigningKeyPair;

beforeAll(async () => {
  key = testKey();
  publisher = generateSigningKey('ed25519');
  const options = {
    entries: PLAINTEXTS.map((data, i) => ({ name: NAMES[i]!, role: i === 0 ? ('xml' as const) : ('aux' as const), data })),
    metadata: { name: 'tamper', version: '1' },
    recipients: [key.recipient],
    segmentSize: SEG,
    headerReserve: 0,
  };
  container = await sealToBuffer(options);
  signedContainer = await sealToBuffer({ ...options, signer: publisher.privateKeyPem });
});

describe('every single-bit flip', () => {
  test('the container is small and opens untouched', async () => {
    expect(container.length).toBeLessThan(12 * 1024);
    const opened = await open(container, { identities: [key.identity] });
    opened.entries.forEach((entry, i) => expect(bytesEqual(entry.data, PLAINTEXTS[i]!)).toBe(true));
  });

  test('open: every flipped bit gives a typed error, by region', async () => {
    const options: OpenOptions = { identities: [key.identity], workers: 0 };
    const seen = await flipEveryBit(container, regionsOf(container), (bytes) => outcome(() => open(bytes, options)));
    log(`open, unsigned container (${container.length} bytes), outcomes per region:\n${table(seen)}`);
    expectOnly(seen, {
      magic: [MALFORMED],
      version: ['ERR_UNSUPPORTED_VERSION'],
      'header length': [MALFORMED, LIMIT],
      'payload offset': [MALFORMED, LIMIT, TRUNCATED, AUTH],
      'container id': [AUTH],
      salt: [AUTH],
      commitment: [AUTH],
      // Above the maximum is a limit, below the minimum malformed (docs/FORMAT.md §7).
      'segment size': [LIMIT, MALFORMED, AUTH],
      'payload digest': [AUTH],
      'created at': [AUTH, MALFORMED],
      // notAfter is 0 (none): a flipped bit makes a date in the past, but expiry is only checked once
      // the MAC verified (R-ORDER-4), so it is tampering; past 2^53 − 1 it is malformed.
      'not after': [AUTH, MALFORMED],
      'names and entries': [MALFORMED, LIMIT, AUTH],
      signature: [MALFORMED, LIMIT, AUTH, NO_KEY],
      stanzas: [MALFORMED, LIMIT, AUTH, NO_KEY],
      mac: [AUTH],
      padding: [MALFORMED],
      payload: [AUTH],
    });
    // Where the answer is certain, it is the only one.
    expect([...seen.get('payload')!.keys()]).toEqual([AUTH]);
    expect([...seen.get('mac')!.keys()]).toEqual([AUTH]);
    expect([...seen.get('padding')!.keys()]).toEqual([MALFORMED]);
    expect([...seen.get('magic')!.keys()]).toEqual([MALFORMED]);
  });

  test('open with a trust policy: every flipped bit of the signed header gives a typed error', async () => {
    const options: OpenOptions = { identities: [key.identity], trust: { publicKeys: [publisher.publicKeyPem] }, workers: 0 };
    const regions = regionsOf(signedContainer);
    const seen = await flipEveryBit(
      signedContainer,
      regions,
      (bytes) => outcome(() => open(bytes, options)),
      (r) => r !== 'padding' && r !== 'payload',
    );
    log(`open with trust, signed container, outcomes per region:\n${table(seen)}`);
    const core = [SIG_INVALID, MALFORMED, LIMIT];
    expectOnly(seen, {
      magic: [MALFORMED],
      version: ['ERR_UNSUPPORTED_VERSION'],
      'header length': [MALFORMED, LIMIT],
      'payload offset': [MALFORMED, LIMIT, TRUNCATED, AUTH],
      'container id': core,
      salt: core,
      commitment: core,
      'segment size': core,
      'payload digest': core,
      'created at': core,
      'not after': [...core, 'ERR_EXPIRED'],
      'names and entries': core,
      signature: [SIG_INVALID, SIG_MISSING, MALFORMED, LIMIT],
      stanzas: [MALFORMED, LIMIT, AUTH, NO_KEY],
      mac: [AUTH],
    });
    expect([...seen.get('payload digest')!.keys()]).toEqual([SIG_INVALID]);
  });

  test('verify without a key: every flipped bit of what the signature covers is caught', async () => {
    const trust = { publicKeys: [publisher.publicKeyPem] };
    const seen = await flipEveryBit(
      signedContainer,
      regionsOf(signedContainer),
      (bytes) => outcome(() => verify(bytes, { trust })),
      // Recipient stanzas and the MAC need a key to check: verify with identities covers them.
      (r) => r !== 'stanzas' && r !== 'mac',
      // Each payload flip is the same check (the digest over the ciphertext): one bit per byte.
      ['payload', 'padding'],
    );
    log(`verify (no key, trust), outcomes per region:\n${table(seen)}`);
    const core = [SIG_INVALID, MALFORMED, LIMIT];
    expectOnly(seen, {
      magic: [MALFORMED],
      version: ['ERR_UNSUPPORTED_VERSION'],
      'header length': [MALFORMED, LIMIT],
      'payload offset': [MALFORMED, LIMIT, TRUNCATED],
      'container id': core,
      salt: core,
      commitment: core,
      'segment size': core,
      'payload digest': core,
      'created at': core,
      'not after': [...core, 'ERR_EXPIRED'],
      'names and entries': core,
      signature: [SIG_INVALID, SIG_MISSING, MALFORMED, LIMIT],
      padding: [MALFORMED],
      payload: [SIG_INVALID],
    });
  });

  test('verify with a key: every flipped stanza or MAC bit is caught', async () => {
    const seen = await flipEveryBit(
      container,
      regionsOf(container),
      (bytes) => outcome(() => verify(bytes, { identities: [key.identity] })),
      (r) => r === 'stanzas' || r === 'mac',
    );
    expectOnly(seen, { stanzas: [MALFORMED, LIMIT, AUTH, NO_KEY], mac: [AUTH] });
  });

  test('file and stream sources, inline and with workers: sampled flips give typed errors', async () => {
    const regions = regionsOf(container);
    const positions: number[] = [];
    // A few bytes of every region, first and last included.
    for (const [, start, end] of regions) {
      if (end > start) positions.push(start, end - 1, start + ((end - start) >> 1));
    }
    await withTempDir(async (dir) => {
      const path = join(dir, 'flipped.ovseal');
      for (const [n, position] of positions.entries()) {
        const bytes = Uint8Array.from(container);
        bytes[position]! ^= 1 << (n % 8);
        await writeFile(path, bytes);
        const workers = n % 4 === 0 ? 2 : 0;
        for (const source of [path, chunked(bytes, [n * 97 + 1, 5000])] as ContainerSource[]) {
          const code = await outcome(() => open(source, { identities: [key.identity], workers }));
          expect(code, `byte ${position} bit ${n % 8} workers ${workers}`).toMatch(/^ERR_/);
        }
      }
    });
  });

  test('openStream releases only authentic chunks before it throws', async () => {
    const segments = segmentsOf(container);
    for (const { start, end } of segments) {
      for (const position of [start, end - 1, (start + end) >> 1]) {
        const bytes = Uint8Array.from(container);
        bytes[position]! ^= 0x40;
        const released: { name: string; offset: number; data: Uint8Array }[] = [];
        const error = await expectOvsealError(
          (async () => {
            for await (const chunk of openStream(chunked(bytes, [1500]), { identities: [key.identity] })) {
              released.push({ name: chunk.entry.name, offset: chunk.offset, data: Uint8Array.from(chunk.data) });
            }
          })(),
        );
        expect(error.code).toBe(AUTH);
        for (const chunk of released) {
          const original = PLAINTEXTS[NAMES.indexOf(chunk.name)]!;
          expect(bytesEqual(chunk.data, original.subarray(chunk.offset, chunk.offset + chunk.data.length))).toBe(true);
        }
      }
    }
  });

  test('openEntry: a flipped bit in the entry asked for is caught; with trust, one anywhere', async () => {
    const segments = segmentsOf(container);
    const trust = { publicKeys: [publisher.publicKeyPem] };
    for (const { entry, start } of segments) {
      const bytes = Uint8Array.from(container);
      bytes[start + 3]! ^= 1;
      await expectOvsealError(openEntry(bytes, NAMES[entry]!, { identities: [key.identity] }), [AUTH]);
      const signed = Uint8Array.from(signedContainer);
      const signedStart = start + (signed.length - container.length);
      signed[signedStart + 3]! ^= 1;
      const other = NAMES[(entry + 1) % NAMES.length]!;
      await expectOvsealError(openEntry(signed, other, { identities: [key.identity], trust }), [SIG_INVALID, AUTH]);
    }
  });
});

describe('truncation and extension', () => {
  /** Shorter than a preamble is not a container at all (R-PRE-1); any other cut is truncation, or a tag cut short. */
  const cutOutcome = (cut: number) => (cut < 16 ? /^ERR_MALFORMED_HEADER$/ : /^ERR_(TRUNCATED|AUTHENTICATION_FAILED)$/);

  function cutPoints(bytes: Uint8Array): number[] {
    const { headerLength, payloadOffset } = parsePreamble(bytes.subarray(0, 16));
    const points = new Set([0, 1, 15, 16, 17, headerLength - 33, headerLength - 1, headerLength, payloadOffset - 1, payloadOffset]);
    for (const { start, end } of segmentsOf(bytes))
      points
        .add(start)
        .add(start + 1)
        .add(end - 1)
        .add(end - TAG);
    for (let i = 0; i < 24; i++) points.add(Math.floor((((i * 7919) % 1000) / 1000) * bytes.length));
    points.delete(bytes.length);
    return [...points].filter((p) => p >= 0 && p < bytes.length).sort((a, b) => a - b);
  }

  test('a container cut at any segment boundary or random offset: ERR_TRUNCATED (path, bytes, stream)', async () => {
    const points = cutPoints(container);
    expect(points.length).toBeGreaterThan(30);
    await withTempDir(async (dir) => {
      for (const cut of points) {
        const bytes = container.slice(0, cut);
        const path = join(dir, `cut-${cut}.ovseal`);
        await writeFile(path, bytes);
        const sources: [string, () => ContainerSource][] = [
          ['path', () => path],
          ['bytes', () => bytes],
          ['stream', () => chunked(bytes, [1000, 3])],
        ];
        for (const [kind, source] of sources) {
          const why = `cut at ${cut} (${kind})`;
          expect(await outcome(() => open(source(), { identities: [key.identity] })), why).toMatch(cutOutcome(cut));
          expect(await outcome(() => verify(source(), { identities: [key.identity] })), why).toMatch(cutOutcome(cut));
          expect(
            await outcome(async () => {
              for await (const _ of openStream(source(), { identities: [key.identity] })) void _;
            }),
            why,
          ).toMatch(cutOutcome(cut));
        }
        expect(await outcome(() => openEntry(bytes, NAMES[0]!, { identities: [key.identity] })), `openEntry cut at ${cut}`).toMatch(
          cutOutcome(cut),
        );
      }
    });
  });

  test('the signed container cut anywhere fails verify without a key', async () => {
    const trust = { publicKeys: [publisher.publicKeyPem] };
    for (const cut of cutPoints(signedContainer)) {
      expect(await outcome(() => verify(signedContainer.slice(0, cut), { trust })), `cut at ${cut}`).toMatch(cutOutcome(cut));
    }
  });

  test('a byte appended (or more): ERR_TRUNCATED for every source and every reader', async () => {
    await withTempDir(async (dir) => {
      for (const extra of [Uint8Array.of(0), Uint8Array.of(0x42), new Uint8Array(SEG + TAG)]) {
        const bytes = Buffer.concat([container, extra]);
        const path = join(dir, 'extended.ovseal');
        await writeFile(path, bytes);
        for (const source of [() => path, () => bytes, () => chunked(bytes, [4000])] as (() => ContainerSource)[]) {
          await expectOvsealError(open(source(), { identities: [key.identity] }), [TRUNCATED]);
          await expectOvsealError(verify(source(), { identities: [key.identity] }), [TRUNCATED]);
          await expectOvsealError(verify(source()), [TRUNCATED]);
          await expectOvsealError(
            (async () => {
              for await (const _ of openStream(source(), { identities: [key.identity] })) void _;
            })(),
            [TRUNCATED],
          );
        }
        await expectOvsealError(openEntry(bytes, NAMES[1]!, { identities: [key.identity] }), [TRUNCATED]);
        await expectOvsealError(open(chunked(bytes, [4000]), { identities: [key.identity], workers: 2 }), [TRUNCATED]);
      }
    });
  });
});

describe('reordered, duplicated and spliced segments', () => {
  let big: Uint8Array;
  const A = pseudoRandomBytes(3 * SEG + 100, 11);
  const B = pseudoRandomBytes(2 * SEG, 12);

  beforeAll(async () => {
    big = await sealToBuffer({
      entries: [
        { name: 'a', role: 'weights', data: A },
        { name: 'b', role: 'aux', data: B },
      ],
      metadata: { name: 'order', version: '1' },
      recipients: [key.recipient],
      segmentSize: SEG,
    });
  });

  function find(entry: number, segment: number) {
    const found = segmentsOf(big).find((s) => s.entry === entry && s.segment === segment);
    if (!found) throw new Error(`no segment ${entry}/${segment}`);
    return found;
  }

  function swapped(first: { start: number; end: number }, second: { start: number; end: number }, mode: 'swap' | 'duplicate'): Uint8Array {
    expect(first.end - first.start).toBe(second.end - second.start);
    const out = Uint8Array.from(big);
    out.set(big.subarray(first.start, first.end), second.start);
    if (mode === 'swap') out.set(big.subarray(second.start, second.end), first.start);
    return out;
  }

  const cases: [string, () => Uint8Array][] = [
    ['two segments of one entry swapped', () => swapped(find(0, 0), find(0, 1), 'swap')],
    ['a segment duplicated over the next one', () => swapped(find(0, 0), find(0, 1), 'duplicate')],
    ['a segment duplicated over an earlier one', () => swapped(find(0, 2), find(0, 0), 'duplicate')],
    ['segments of two entries swapped', () => swapped(find(0, 1), find(1, 0), 'swap')],
    ["a middle segment swapped with another entry's last segment", () => swapped(find(0, 1), find(1, 1), 'swap')],
  ];

  test.each(cases)('%s: ERR_AUTHENTICATION_FAILED, inline and with workers, for open, openEntry and verify', async (_name, make) => {
    const bytes = make();
    for (const workers of [0, 2]) {
      await expectOvsealError(open(bytes, { identities: [key.identity], workers }), [AUTH]);
      await expectOvsealError(open(chunked(bytes, [3000]), { identities: [key.identity], workers }), [AUTH]);
    }
    await expectOvsealError(verify(bytes, { identities: [key.identity] }), [AUTH]);
    // The entry holding the moved segment fails alone too.
    const touched = ['a', 'b'].filter((name, index) => !bytesEqual(sliceEntry(bytes, index), sliceEntry(big, index)));
    for (const name of touched) await expectOvsealError(openEntry(bytes, name, { identities: [key.identity] }), [AUTH]);
  });

  function sliceEntry(bytes: Uint8Array, entry: number): Uint8Array {
    const mine = segmentsOf(big).filter((s) => s.entry === entry);
    return bytes.subarray(mine[0]!.start, mine.at(-1)!.end);
  }
});

describe('recipients and keys', () => {
  /** Byte range of each stanza (type … body) in a header. */
  function stanzaRanges(bytes: Uint8Array): { start: number; end: number; args: readonly string[] }[] {
    const regions = regionsOf(bytes);
    const [, start] = regions.find(([name]) => name === 'stanzas')!;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint16(start);
    const { headerLength } = parsePreamble(bytes.subarray(0, 16));
    const header = parseHeader(bytes.subarray(0, headerLength));
    let p = start + 2;
    const out = [];
    for (let i = 0; i < count; i++) {
      const from = p;
      p += 1 + bytes[p]!;
      const argCount = bytes[p]!;
      p += 1;
      for (let j = 0; j < argCount; j++) p += 2 + view.getUint16(p);
      p += 4 + view.getUint32(p);
      out.push({ start: from, end: p, args: header.stanzas[i]!.args });
    }
    return out;
  }

  async function sealTo(recipients: ReturnType<typeof testKey>['recipient'][], version = '1') {
    return sealToBuffer({
      entries: [{ name: 'm.onnx', role: 'onnx', data: PLAINTEXTS[0]! }],
      metadata: { name: 'splice', version },
      recipients,
      segmentSize: SEG,
    });
  }

  test('a stanza spliced in from another container of the same key does not open it', async () => {
    const a = await sealTo([key.recipient]);
    const b = await sealTo([key.recipient]);
    const [stanzaA] = stanzaRanges(a);
    const [stanzaB] = stanzaRanges(b);
    expect(stanzaB!.end - stanzaB!.start).toBe(stanzaA!.end - stanzaA!.start);
    const spliced = Uint8Array.from(a);
    spliced.set(b.subarray(stanzaB!.start, stanzaB!.end), stanzaA!.start);
    expect(bytesEqual(spliced, a)).toBe(false);
    for (const source of [spliced, chunked(spliced, [999])] as ContainerSource[]) {
      await expectOvsealError(open(source, { identities: [key.identity] }), [AUTH]);
    }
    await expectOvsealError(verify(spliced, { identities: [key.identity] }), [AUTH]);
  });

  test('a stanza spliced into a two-recipient container (same model name and version) does not open it', async () => {
    const other = testKey();
    const a = await sealTo([other.recipient, key.recipient]);
    const b = await sealTo([key.recipient]);
    const target = stanzaRanges(a).find((s) => s.args[0] === key.identity.keyId)!;
    const [source] = stanzaRanges(b);
    const spliced = Uint8Array.from(a);
    spliced.set(b.subarray(source!.start, source!.end), target.start);
    await expectOvsealError(open(spliced, { identities: [key.identity] }), [AUTH]);
    // The untouched recipient is caught by the header MAC.
    await expectOvsealError(open(spliced, { identities: [other.identity] }), [AUTH]);
  });

  test('a wrong key: ERR_NO_MATCHING_KEY, for every source', async () => {
    const strangers = [testKey().identity, testKey().identity];
    await withTempDir(async (dir) => {
      const path = join(dir, 'c.ovseal');
      await writeFile(path, container);
      for (const source of [path, container, chunked(container, [100])] as ContainerSource[]) {
        await expectOvsealError(open(source, { identities: strangers }), [NO_KEY]);
      }
      await expectOvsealError(openEntry(path, NAMES[0]!, { identities: strangers }), [NO_KEY]);
      await expectOvsealError(verify(path, { identities: strangers }), [NO_KEY]);
    });
  });

  test('no identity at all is a caller error, not a key mismatch', async () => {
    await expectOvsealError(open(container, { identities: [] }), ['ERR_INVALID_ARGUMENT']);
  });
});
