// Header fuzzing engine (issue 10): valid containers, mutated in their header area, are handed to
// the parser (inspect) and, for a share of them, to open with the right key. The only acceptable
// outcomes are a result or an OvsealError — never another exception, a crash or a hang — and memory
// stays bounded. Plain JavaScript so that the CI test (fuzz.test.ts) and the longer local run
// (`pnpm fuzz`, scripts/fuzz.mjs) share it. Deterministic: a case is reproduced from (seed, index).
import { generateSigningKey, inspect, open, OvsealError, sealToBuffer } from '@ovseal/container';

/** A small, fast, seeded PRNG (mulberry32): fuzzing needs reproducible, not secure, randomness. */
export function prng(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (items) => items[Math.floor(next() * items.length)] };
}

const BOUNDARIES = [
  0,
  1,
  2,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x10000,
  4096,
  4095,
  1024,
  1025,
  64,
  65,
  0x7fffffff,
  0xffffffff,
  16 * 1024 * 1024,
  16 * 1024 * 1024 + 1,
];

/** The seed containers: what each mutation starts from. */
export async function seedContainers({ recipient, extraRecipient }) {
  const publisher = generateSigningKey('ed25519');
  const p256 = generateSigningKey('ecdsa-p256');
  const bytes = (n, b) => new Uint8Array(n).fill(b);
  const specs = [
    { entries: [{ name: 'model.onnx', role: 'onnx', data: bytes(5000, 1) }] },
    {
      entries: [
        { name: 'model.xml', role: 'xml', data: bytes(300, 2) },
        { name: 'model.bin', role: 'weights', data: bytes(9000, 3) },
        { name: 'labels/x.txt', role: 'aux', data: new Uint8Array(0) },
      ],
      signer: publisher.privateKeyPem,
    },
    {
      entries: [{ name: 'a.blob', role: 'blob', data: bytes(100, 4) }],
      signer: p256.privateKeyPem,
      notAfter: new Date('2100-01-01T00:00:00Z'),
      extra: true,
    },
    { entries: Array.from({ length: 12 }, (_, i) => ({ name: `dir${i % 3}/f${i}.dat`, role: 'aux', data: bytes(i * 7, i) })) },
  ];
  const seeds = [];
  for (const spec of specs) {
    seeds.push(
      await sealToBuffer({
        entries: spec.entries,
        metadata: { name: 'fuzz-model', version: '1.2.3', ...(spec.notAfter ? { notAfter: spec.notAfter } : {}) },
        recipients: spec.extra ? [extraRecipient, recipient] : [recipient],
        segmentSize: 4096,
        ...(spec.signer ? { signer: spec.signer } : {}),
      }),
    );
  }
  return seeds;
}

/** One mutation of `source` (a Uint8Array), mostly inside its header area. */
export function mutate(source, random, donors) {
  let bytes = Uint8Array.from(source);
  const headerLength = new DataView(bytes.buffer).getUint32(8);
  // A position in the header, within what is left of the bytes.
  const at = () => random.int(Math.max(1, Math.min(bytes.length, headerLength)));
  const kinds = random.int(3) + 1;
  for (let k = 0; k < kinds; k++) {
    switch (random.int(8)) {
      case 0: // bit flips
        if (bytes.length === 0) break;
        for (let i = random.int(8) + 1; i > 0; i--) bytes[at()] ^= 1 << random.int(8);
        break;
      case 1: // a byte set to a boundary or random value
        if (bytes.length === 0) break;
        bytes[at()] = random.pick([0, 1, 0x7f, 0x80, 0xff, random.int(256)]);
        break;
      case 2: {
        // a length or count field overwritten with a boundary value
        if (bytes.length < 4) break;
        const position = Math.max(0, Math.min(at(), bytes.length - 4));
        const value = random.pick(BOUNDARIES);
        const width = random.pick([1, 2, 4]);
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (width === 1) dv.setUint8(position, value & 0xff);
        else if (width === 2) dv.setUint16(position, value & 0xffff);
        else dv.setUint32(position, value >>> 0);
        break;
      }
      case 3: // truncation
        bytes = bytes.subarray(0, random.int(bytes.length + 1));
        break;
      case 4: {
        // bytes inserted into the header (everything after shifts)
        const position = at();
        const inserted = Uint8Array.from({ length: random.int(64) + 1 }, () => random.int(256));
        bytes = concat([bytes.subarray(0, position), inserted, bytes.subarray(position)]);
        break;
      }
      case 5: {
        // bytes deleted from the header
        const position = at();
        bytes = concat([bytes.subarray(0, position), bytes.subarray(Math.min(bytes.length, position + random.int(64) + 1))]);
        break;
      }
      case 6: {
        // a piece of another container spliced in
        const donor = random.pick(donors);
        const from = random.int(Math.max(1, Math.min(donor.length, 8192)));
        const length = random.int(256) + 1;
        const position = at();
        const piece = donor.subarray(from, from + length);
        const copy = Uint8Array.from(bytes);
        copy.set(piece.subarray(0, Math.max(0, copy.length - position)), position);
        bytes = copy;
        break;
      }
      default: {
        // the two preamble lengths moved together (the parser reads further, or less)
        if (bytes.length < 16) break;
        const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const delta = random.pick([-64, -32, -1, 1, 4, 32, 4096]);
        dv.setUint32(8, (dv.getUint32(8) + delta) >>> 0);
        if (random.next() < 0.5) dv.setUint32(12, (dv.getUint32(12) + delta) >>> 0);
      }
    }
  }
  return bytes;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Runs `iterations` cases. Returns what happened: `outcomes` counts results by error code, `failures`
 * lists the cases that threw anything but an OvsealError, `peakRss` the largest resident size seen.
 * `openShare`: the share of cases also opened with the key (header MAC, commitment, payload).
 */
export async function fuzzHeaders({ seeds, identity, iterations, seed = 1, openShare = 0.1, onProgress }) {
  const random = prng(seed);
  const outcomes = new Map();
  const failures = [];
  const count = (what) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
  let peakRss = process.memoryUsage.rss();
  for (let index = 0; index < iterations; index++) {
    const caseSeed = random.int(2 ** 31);
    const caseRandom = prng(caseSeed);
    const source = caseRandom.pick(seeds);
    const bytes = mutate(source, caseRandom, seeds);
    const calls = [() => inspect(bytes)];
    if (caseRandom.next() < openShare) calls.push(async () => (await open(bytes, { identities: [identity], workers: 0 })).dispose());
    for (const call of calls) {
      try {
        await call();
        count('ok');
      } catch (error) {
        if (error instanceof OvsealError) count(error.code);
        else
          failures.push({
            index,
            caseSeed,
            error: String(error?.stack ?? error),
            hex: Buffer.from(bytes.subarray(0, 4096)).toString('hex'),
          });
      }
    }
    if (index % 1000 === 0) {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      onProgress?.(index, outcomes);
    }
  }
  return { outcomes: Object.fromEntries([...outcomes].sort()), failures, peakRss: Math.max(peakRss, process.memoryUsage.rss()) };
}
