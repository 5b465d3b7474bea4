// Run in a child process (with a small heap) by limits.test.ts: a stream whose header claims `count`
// entries (default 1) of `size` bytes each. Prints one JSON line: {"outcome":"error","code":…} | {"outcome":"returned"}. A crash
// (out of memory) prints nothing and exits non-zero.
import { randomBytes } from 'node:crypto';
import { createWrapContext, open, openStream, verify, OvsealError } from '@ovseal/container';
import { encodeHeaderWithoutMac } from '../../dist/lib/format/header-codec.js';
import { deriveKeys, headerMac } from '../../dist/lib/crypto/derived-keys.js';

const [mode, sizeText, macText, countText = '1'] = process.argv.slice(2);
const size = Number(sizeText);
const validMac = macText === 'mac';

// A pass-through test provider: the stanza body is the data key (only the MAC matters here).
const recipient = {
  async wrap(dataKey) {
    return [{ type: 'plain', args: [], body: Uint8Array.from(dataKey) }];
  },
};
const identity = {
  async unwrap(stanzas) {
    return Uint8Array.from(stanzas[0].body);
  },
};

const dataKey = randomBytes(32);
const containerId = randomBytes(16);
const salt = randomBytes(32);
const keys = deriveKeys(dataKey, salt);
const fields = {
  containerId,
  salt,
  commitment: keys.commitment,
  segmentSize: 4096,
  payloadDigest: new Uint8Array(32),
  createdAt: 1_700_000_000,
  notAfter: 0,
  modelName: 'huge',
  modelVersion: '1',
  format: 'other',
  entries: Array.from({ length: Number(countText) }, (_, i) => ({ name: `e${i}`, role: 'blob', size })),
  signature: null,
  stanzas: await recipient.wrap(dataKey, createWrapContext({ containerId, modelName: 'huge', modelVersion: '1' })),
};
const withoutMac = encodeHeaderWithoutMac(fields, 65536);
const area = new Uint8Array(65536);
area.set(withoutMac, 0);
area.set(validMac ? headerMac(keys.macKey, withoutMac) : randomBytes(32), withoutMac.length);
const bytes = Buffer.concat([area, randomBytes(100)]);
const stream = (async function* () {
  yield bytes;
})();

try {
  if (mode === 'verify') await verify(stream);
  else if (mode === 'verify-key') await verify(stream, { identities: [identity] });
  else if (mode === 'open') await open(stream, { identities: [identity], workers: 0 });
  else if (mode === 'open-workers') await open(stream, { identities: [identity], workers: 2 });
  else if (mode === 'open-stream') {
    for await (const _ of openStream(stream, { identities: [identity] })) void _;
  } else throw new Error(`unknown mode ${mode}`);
  console.log(JSON.stringify({ outcome: 'returned' }));
} catch (error) {
  console.log(
    JSON.stringify(error instanceof OvsealError ? { outcome: 'error', code: error.code } : { outcome: 'untyped', error: String(error) }),
  );
}
