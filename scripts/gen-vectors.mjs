#!/usr/bin/env node
// Generates the format test vectors of docs/FORMAT.md §9 into test-fixtures/vectors/.
// Each vector: NAME.ovseal + NAME.json (expected outcome, identity, trusted key, entry digests).
// Run with `pnpm vectors` after changing the format; commit the result with the code and the spec.
import { constants, createCipheriv, createHash, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey } from '../packages/container/dist/index.js';
import { sealInto } from '../packages/container/dist/lib/seal-core.js';
import { parseHeader, encodeHeaderWithoutMac, encodeCore } from '../packages/container/dist/lib/header.js';
import { deriveKeys, headerMac } from '../packages/container/dist/lib/keys.js';
import { layoutEntries, segmentNonce, payloadDigest, segmentHash } from '../packages/container/dist/lib/layout.js';
import { encryptSegment } from '../packages/container/dist/lib/segment-cipher.js';
import { signCore } from '../packages/container/dist/lib/signature.js';
import { FileRecipient } from '../packages/key-file/dist/index.js';
import { AES_KWP_STANZA, boundValue, KEK_CHECK, kekIdFromCheck, RSA_OAEP_STANZA, rsaKeyId } from '../packages/key-pkcs11/dist/lib/wire.js';
import { tinyIr } from '../test-fixtures/index.mjs';

const OUT = new URL('../test-fixtures/vectors/', import.meta.url).pathname;
const SEGMENT = 4096;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

async function sealBytes({ entries, recipients, signer, dataKey = randomBytes(32), name = 'vector-model', version = '1.0.0' }) {
  const parts = [];
  let area;
  await sealInto(
    { async begin() {}, async writePayload(b) { parts.push(Uint8Array.from(b)); }, async writeHeaderArea(a) { area = a; } },
    { entries, metadata: { name, version, createdAt: new Date('2026-11-26T00:00:00Z') }, recipients, signer, segmentSize: SEGMENT },
    { dataKey: Uint8Array.from(dataKey), containerId: randomBytes(16), salt: randomBytes(32) },
  );
  return Buffer.concat([area, ...parts]);
}

/** Re-encrypts a container's payload with `mutate(entries)` applied, re-MACing the header with the data key. */
function reseal(container, dataKey, mutateEntries, { keepDigest = false, keepSignature = true } = {}) {
  const headerLength = container.readUInt32BE(8);
  const header = parseHeader(container.subarray(0, headerLength));
  const keys = deriveKeys(dataKey, header.salt);
  const entries = mutateEntries(header.entries.map((e, i) => ({ ...e, data: entryPlain(container, header, keys, i) })));
  const layouts = layoutEntries(entries.map((e) => e.data.length), header.segmentSize);
  const sealedSegments = [];
  for (const [i, layout] of layouts.entries()) {
    for (let s = 0; s < layout.segmentCount; s++) {
      const chunk = entries[i].data.subarray(s * header.segmentSize, Math.min((s + 1) * header.segmentSize, entries[i].data.length));
      sealedSegments.push(encryptSegment(keys.payloadKey, segmentNonce(i, s, s === layout.segmentCount - 1), chunk));
    }
  }
  const fields = {
    ...header,
    entries: entries.map(({ name, role, data }) => ({ name, role, size: data.length })),
    payloadDigest: keepDigest ? header.payloadDigest : payloadDigest(sealedSegments.map(segmentHash)),
  };
  const signature = keepSignature ? header.signature : fields.signature;
  const withoutMac = encodeHeaderWithoutMac({ ...fields, signature }, header.payloadOffset);
  const area = Buffer.alloc(header.payloadOffset);
  area.set(withoutMac, 0);
  area.set(headerMac(keys.macKey, withoutMac), withoutMac.length);
  return Buffer.concat([area, ...sealedSegments]);
}

function entryPlain(container, header, keys, index) {
  // Decrypting is the reader's job; the generator keeps the plaintexts it sealed instead.
  return plaintexts.get(index);
}

const plaintexts = new Map();
const vectors = [];
function add(name, description, expect, container, { kek, identity, trust = null, error, entries = [] }) {
  vectors.push(name);
  writeFileSync(join(OUT, `${name}.ovseal`), container);
  const theIdentity = identity ?? { type: 'file', kek: Buffer.from(kek).toString('hex') };
  writeFileSync(join(OUT, `${name}.json`), JSON.stringify({ description, expect, ...(error ? { error } : {}), identity: theIdentity, trust, entries }, null, 2) + '\n');
}

/** RFC 5649 AES key wrap with padding, by OpenSSL: what a token's CKM_AES_KEY_WRAP_KWP computes. */
function kwp(kek, plain) {
  const cipher = createCipheriv('id-aes256-wrap-pad', kek, Buffer.from('A65959A6', 'hex'));
  return Buffer.concat([cipher.update(plain), cipher.final()]);
}

/** The pkcs11-aes-kwp stanza (docs/FORMAT.md §5.3), made in software as a token would make it. */
function kwpRecipient(kek) {
  const kekId = kekIdFromCheck(kwp(kek, KEK_CHECK));
  return { async wrap(dataKey, context) { return [{ type: AES_KWP_STANZA, args: [kekId], body: kwp(kek, boundValue(dataKey, context)) }]; } };
}

/** The pkcs11-rsa-oaep stanza, wrapped with the public key as anyone holding it can. */
function oaepRecipient(publicKey, hash) {
  return {
    async wrap(dataKey, context) {
      const body = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, boundValue(dataKey, context));
      return [{ type: RSA_OAEP_STANZA, args: [rsaKeyId(publicKey), hash], body }];
    },
  };
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const kek = randomBytes(32);
const otherKek = randomBytes(32);
const recipient = new FileRecipient(kek);
const ir = tinyIr({ shape: [1, 3, 32, 40], addend: 0.5 }); // 15 360 weight bytes: 4 segments
const labels = Buffer.from('background\ntext\n');
const irEntries = [
  { name: 'model.xml', role: 'xml', data: Buffer.from(ir.xml) },
  { name: 'model.bin', role: 'weights', data: Buffer.from(ir.weights) },
  { name: 'labels.txt', role: 'aux', data: labels },
];
const digests = (entries) => entries.map((e) => ({ name: e.name, role: e.role, sha256: sha256(e.data) }));
irEntries.forEach((e, i) => plaintexts.set(i, e.data));

// --- success
const dataKey = randomBytes(32);
const base = await sealBytes({ entries: irEntries, recipients: [recipient], dataKey });
add('ir-basic', 'OpenVINO IR pair plus an aux file, one file recipient, 4096-byte segments', 'success', base, { kek, entries: digests(irEntries) });

const edge = [
  { name: 'empty', role: 'aux', data: Buffer.alloc(0) },
  { name: 'exact.bin', role: 'weights', data: randomBytes(2 * SEGMENT) },
  { name: 'one.bin', role: 'aux', data: randomBytes(1) },
  { name: 'model.xml', role: 'xml', data: Buffer.from(ir.xml) },
];
add('segment-edges', 'an empty entry, an entry of exactly two segments, a one-byte entry', 'success', await sealBytes({ entries: edge, recipients: [recipient] }), { kek, entries: digests(edge) });

const unknownStanza = { async wrap() { return [{ type: 'x-future-provider', args: ['v9'], body: randomBytes(40) }]; } };
const multi = await sealBytes({ entries: irEntries, recipients: [new FileRecipient(otherKek), unknownStanza, recipient] });
add('multi-recipient', 'three stanzas: another key, an unknown type (skipped), then ours', 'success', multi, { kek, entries: digests(irEntries) });

for (const algorithm of ['ed25519', 'ecdsa-p256']) {
  const publisher = generateSigningKey(algorithm);
  const signed = await sealBytes({ entries: irEntries, recipients: [recipient], signer: publisher.privateKeyPem, dataKey });
  add(`signed-${algorithm}`, `signed with ${algorithm}, opened with that key trusted`, 'success', signed, { kek, trust: publisher.publicKeyPem, entries: digests(irEntries) });
  if (algorithm === 'ed25519') {
    const stranger = generateSigningKey('ed25519');
    add('signature-untrusted', 'valid Ed25519 signature by a key that is not trusted', 'signature failure', signed, { kek, trust: stranger.publicKeyPem, error: 'ERR_SIGNATURE_UNTRUSTED' });
    add('signature-missing', 'unsigned container opened with a trusted key required', 'signature failure', base, { kek, trust: publisher.publicKeyPem, error: 'ERR_SIGNATURE_MISSING' });
    const forged = reseal(signed, dataKey, (entries) => entries.map((e) => (e.role === 'weights' ? { ...e, data: Buffer.alloc(e.data.length, 0x41) } : e)), { keepDigest: true });
    add('signature-forged-payload', 'a data-key holder re-encrypted other weights and kept the signed core: the payload digest no longer matches', 'signature failure', forged, { kek, trust: publisher.publicKeyPem, error: 'ERR_SIGNATURE_INVALID' });
    const badSig = Buffer.from(signed);
    const sigOffset = 16 + encodeCore(parseHeader(signed.subarray(0, signed.readUInt32BE(8)))).length + 1 + 32;
    badSig[sigOffset] ^= 0x01;
    add('signature-invalid', 'one bit of the Ed25519 signature flipped', 'signature failure', badSig, { kek, trust: publisher.publicKeyPem, error: 'ERR_SIGNATURE_INVALID' });
  }
}

// --- pkcs11 stanzas (§5.3)
const tokenKek = randomBytes(32);
const kwpIdentity = { type: 'pkcs11-aes-kwp', kek: tokenKek.toString('hex') };
const kwpContainer = await sealBytes({ entries: irEntries, recipients: [kwpRecipient(tokenKek)] });
add('pkcs11-aes-kwp', 'a pkcs11-aes-kwp stanza: the data key wrapped by an AES key in a token (RFC 5649)', 'success', kwpContainer, { identity: kwpIdentity, entries: digests(irEntries) });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaIdentity = { type: 'pkcs11-rsa-oaep', privateKeyPem: rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
for (const hash of ['sha256', 'sha1']) {
  const sealed = await sealBytes({ entries: irEntries, recipients: [new FileRecipient(otherKek), oaepRecipient(rsa.publicKey, hash)] });
  add(`pkcs11-rsa-oaep-${hash}`, `a file stanza of another key, then a pkcs11-rsa-oaep stanza (OAEP with ${hash})`, 'success', sealed, { identity: rsaIdentity, entries: digests(irEntries) });
}
const kwpDonor = await sealBytes({ entries: irEntries, recipients: [kwpRecipient(tokenKek)] });
const kwpSpan = (c) => { const h = parseHeader(c.subarray(0, c.readUInt32BE(8))); const end = h.headerLength - 32; const len = 1 + AES_KWP_STANZA.length + 1 + 2 + 16 + 4 + 72; return [end - len, end]; };
const kwpMoved = Buffer.from(kwpContainer);
const [kFrom] = kwpSpan(kwpContainer);
const [kdFrom, kdTo] = kwpSpan(kwpDonor);
kwpDonor.copy(kwpMoved, kFrom, kdFrom, kdTo);
add('pkcs11-aes-kwp-moved', 'the pkcs11-aes-kwp stanza replaced by the same key\'s stanza from another container: its bound context hash differs', 'header failure', kwpMoved, { identity: kwpIdentity, error: 'ERR_AUTHENTICATION_FAILED' });

// --- header failures
const flip = (buffer, offset, mask = 0x01) => { const copy = Buffer.from(buffer); copy[offset] ^= mask; return copy; };
add('header-bad-magic', 'first byte of the magic changed', 'header failure', flip(base, 0), { kek, error: 'ERR_MALFORMED_HEADER' });
const v2 = Buffer.from(base); v2.writeUInt16BE(2, 6);
add('header-unsupported-version', 'version field 2', 'header failure', v2, { kek, error: 'ERR_UNSUPPORTED_VERSION' });
const huge = Buffer.from(base); huge.writeUInt32BE(0x7fffffff, 8);
add('header-limit', 'header length of 2 GiB claimed: refused before allocation', 'header failure', huge, { kek, error: 'ERR_LIMIT_EXCEEDED' });
add('header-mac', 'a bit of the model name flipped: the header MAC fails', 'header failure', flip(base, 16 + 16 + 32 + 32 + 4 + 32 + 8 + 8 + 2), { kek, error: 'ERR_AUTHENTICATION_FAILED' });
add('header-commitment', 'a bit of the key commitment flipped', 'header failure', flip(base, 16 + 16 + 32), { kek, error: 'ERR_AUTHENTICATION_FAILED' });
const headerLength = base.readUInt32BE(8);
add('header-padding', 'a non-zero byte in the padding after the MAC', 'header failure', flip(base, headerLength + 10), { kek, error: 'ERR_MALFORMED_HEADER' });
// A stanza copied from another container sealed to the same key: its wrap context differs.
const donor = await sealBytes({ entries: irEntries, recipients: [recipient] });
const stanzaSpan = (c) => { const h = parseHeader(c.subarray(0, c.readUInt32BE(8))); const end = h.headerLength - 32; const len = 1 + 4 + 1 + 2 + 16 + 4 + 60; return [end - len, end]; };
const [from, to] = stanzaSpan(base);
const [dFrom, dTo] = stanzaSpan(donor);
const moved = Buffer.from(base); donor.copy(moved, from, dFrom, dTo);
add('stanza-moved', "the file stanza replaced by the same key's stanza from another container", 'header failure', moved, { kek, error: 'ERR_AUTHENTICATION_FAILED' });

// --- payload failures
const payloadOffset = base.readUInt32BE(12);
add('payload-bit-flip', 'one ciphertext bit of the second weights segment flipped', 'payload failure', flip(base, payloadOffset + 1200 + (SEGMENT + 16) + 100), { kek, error: 'ERR_AUTHENTICATION_FAILED' });
add('payload-truncated', 'the last 16 bytes (a tag) cut off', 'payload failure', base.subarray(0, base.length - 16), { kek, error: 'ERR_TRUNCATED' });
add('payload-extended', 'one byte appended', 'payload failure', Buffer.concat([base, Buffer.of(0)]), { kek, error: 'ERR_TRUNCATED' });
const xmlSealed = irEntries[0].data.length + 16;
const weightsStart = payloadOffset + xmlSealed;
const swapped = Buffer.from(base);
base.copy(swapped, weightsStart, weightsStart + SEGMENT + 16, weightsStart + 2 * (SEGMENT + 16));
base.copy(swapped, weightsStart + SEGMENT + 16, weightsStart, weightsStart + SEGMENT + 16);
add('payload-reordered', 'the first two weights segments swapped', 'payload failure', swapped, { kek, error: 'ERR_AUTHENTICATION_FAILED' });
const dropLast = reseal(base, dataKey, (entries) => entries.map((e) => (e.role === 'weights' ? { ...e, data: e.data.subarray(0, 3 * SEGMENT) } : e)));
add('payload-dropped-segment', 'weights cut to three full segments, header re-MACed to match, but the third segment was not sealed as last: only the nonce flag tells', 'payload failure', rewrapLastFlag(dropLast, dataKey), { kek, error: 'ERR_AUTHENTICATION_FAILED' });

// --- no match
add('no-match', 'sealed to another key only', 'no match', await sealBytes({ entries: irEntries, recipients: [new FileRecipient(otherKek)] }), { kek, error: 'ERR_NO_MATCHING_KEY' });

/** Re-encrypts the weights' final segment with last = 0, as if more segments had followed. */
function rewrapLastFlag(container, key) {
  const h = parseHeader(container.subarray(0, container.readUInt32BE(8)));
  const keys = deriveKeys(key, h.salt);
  const layouts = layoutEntries(h.entries.map((e) => e.size), h.segmentSize);
  const weights = h.entries.findIndex((e) => e.role === 'weights');
  const layout = layouts[weights];
  const lastIndex = layout.segmentCount - 1;
  const at = h.payloadOffset + layout.payloadOffset + lastIndex * (h.segmentSize + 16);
  const plain = plaintexts.get(weights).subarray(lastIndex * h.segmentSize, (lastIndex + 1) * h.segmentSize);
  const out = Buffer.from(container);
  encryptSegment(keys.payloadKey, segmentNonce(weights, lastIndex, false), plain).copy(out, at);
  return out;
}

writeFileSync(join(OUT, 'README.md'), `# Test vectors\n\nGenerated by \`pnpm vectors\` (scripts/gen-vectors.mjs); format and outcomes: docs/FORMAT.md §9.\nChecked by packages/container/test/vectors.test.ts. Do not edit by hand.\n\n${vectors.map((v) => `- ${v}`).join('\n')}\n`);
console.log(`wrote ${vectors.length} vectors to ${OUT}`);
