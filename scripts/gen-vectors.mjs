#!/usr/bin/env node
// Generates the format test vectors of docs/FORMAT.md §9 into test-fixtures/vectors/.
// Each vector: NAME.ovseal + NAME.json (expected outcome, identity, trusted key, entry digests).
// Run with `pnpm vectors` after changing the format; commit the result with the code and the spec.
//
// Deterministic: every key, nonce, id and salt comes from a fixed seed, so a run that changes no
// rule changes no file. Two primitives are randomised by OpenSSL and reused from the files on disk
// while their inputs are unchanged: ECDSA signatures (kept when they verify over the same core) and
// RSA-OAEP stanza bodies (kept when they still decrypt to the same bound value; the RSA key itself
// is read back from the previous vector, since it cannot be derived from a seed).
import { constants, createCipheriv, createECDH, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, privateDecrypt, publicEncrypt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sealInto } from '../packages/container/dist/lib/seal-core.js';
import { parseHeader, encodeHeaderUnchecked, encodeCore } from '../packages/container/dist/lib/header.js';
import { deriveKeys, headerMac } from '../packages/container/dist/lib/keys.js';
import { layoutEntries, segmentNonce, payloadDigest, segmentHash } from '../packages/container/dist/lib/layout.js';
import { encryptSegment } from '../packages/container/dist/lib/segment-cipher.js';
import { verifyCore } from '../packages/container/dist/lib/signature.js';
import { AES_KWP_STANZA, boundValue, KEK_CHECK, kekIdFromCheck, RSA_OAEP_STANZA, rsaKeyId } from '../packages/key-pkcs11/dist/lib/wire.js';
import { tinyIr } from '../test-fixtures/index.mjs';

const OUT = new URL('../test-fixtures/vectors/', import.meta.url).pathname;
const SEGMENT = 4096;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** `length` bytes named by `label`: the same on every run. */
function seeded(label, length) {
  const out = Buffer.alloc(Math.ceil(length / 32) * 32);
  for (let block = 0; block * 32 < length; block++) {
    createHash('sha256').update(`ovseal/v1 test vectors\n${label}\n${block}`).digest().copy(out, block * 32);
  }
  return out.subarray(0, length);
}

/** The `file` recipient written from §5.1, with a seeded nonce (a real sealer draws it at random). */
function specFileRecipient(kek) {
  const keyId = createHash('sha256').update('ovseal/v1 kek id\n').update(kek).digest('hex').slice(0, 16);
  const wrappingKey = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'ovseal/v1 kek wrap', 32));
  let wraps = 0;
  return {
    async wrap(dataKey, context) {
      const nonce = seeded(`file nonce ${keyId} ${Buffer.from(context.containerId).toString('hex')} ${wraps++}`, 12);
      const cipher = createCipheriv('aes-256-gcm', wrappingKey, nonce);
      cipher.setAAD(context.aad);
      return [{ type: 'file', args: [keyId], body: Buffer.concat([nonce, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]) }];
    },
  };
}

/** A publisher key pair from a seed: Ed25519 from its 32-byte seed, P-256 from its scalar. */
function seededSigningKey(algorithm, label) {
  const secret = seeded(`signing key ${label}`, 32);
  const b64 = (bytes) => Buffer.from(bytes).toString('base64url');
  let privateKey;
  if (algorithm === 'ed25519') {
    privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret]), format: 'der', type: 'pkcs8' });
  } else {
    const point = createECDH('prime256v1').setPrivateKey(secret).getPublicKey();
    privateKey = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: b64(secret), x: b64(point.subarray(1, 33)), y: b64(point.subarray(33)) }, format: 'jwk' });
  }
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
  };
}

let containers = 0;
async function sealBytes({ entries, recipients, signer, dataKey = seeded(`data key ${containers}`, 32), name = 'vector-model', version = '1.0.0' }) {
  const n = containers++;
  const parts = [];
  let area;
  await sealInto(
    { async begin() {}, async writePayload(b) { parts.push(Uint8Array.from(b)); }, async writeHeaderArea(a) { area = a; } },
    { entries, metadata: { name, version, createdAt: new Date('2026-11-26T00:00:00Z') }, recipients, signer, segmentSize: SEGMENT },
    { dataKey: Uint8Array.from(dataKey), containerId: seeded(`container id ${n}`, 16), salt: seeded(`salt ${n}`, 32) },
  );
  return Buffer.concat([area, ...parts]);
}

const headerOf = (container) => parseHeader(container.subarray(0, container.readUInt32BE(8)));

/** A header area for `fields` (field rules not applied: a data-key holder can write anything), MACed with the data key. */
function headerAreaOf(fields, dataKey, payloadOffset) {
  const withoutMac = encodeHeaderUnchecked(fields, payloadOffset);
  const area = Buffer.alloc(payloadOffset);
  area.set(withoutMac, 0);
  area.set(headerMac(deriveKeys(dataKey, fields.salt).macKey, withoutMac), withoutMac.length);
  return area;
}

/** Encrypts entry plaintexts as §6.1 says; returns the sealed segments in file order. */
function sealedSegmentsOf(dataKey, salt, plainEntries) {
  const { payloadKey } = deriveKeys(dataKey, salt);
  const layouts = layoutEntries(plainEntries.map((e) => e.data.length), SEGMENT);
  const segments = [];
  for (const [i, layout] of layouts.entries()) {
    for (let s = 0; s < layout.segmentCount; s++) {
      const chunk = plainEntries[i].data.subarray(s * SEGMENT, Math.min((s + 1) * SEGMENT, plainEntries[i].data.length));
      segments.push(encryptSegment(payloadKey, segmentNonce(i, s, s === layout.segmentCount - 1), chunk));
    }
  }
  return segments;
}

/** Re-encrypts a container's payload with `mutate(entries)` applied, re-MACing the header with the data key. */
function reseal(container, dataKey, mutateEntries, { keepDigest = false } = {}) {
  const header = headerOf(container);
  const entries = mutateEntries(header.entries.map((e, i) => ({ ...e, data: plaintexts.get(i) })));
  const segments = sealedSegmentsOf(dataKey, header.salt, entries);
  const fields = {
    ...header,
    entries: entries.map(({ name, role, data }) => ({ name, role, size: data.length })),
    payloadDigest: keepDigest ? header.payloadDigest : payloadDigest(segments.map(segmentHash)),
  };
  return Buffer.concat([headerAreaOf(fields, dataKey, header.payloadOffset), ...segments]);
}

/** Offset of the signature value in a signed container (after the core, the algorithm byte and the public key). */
function signatureOffset(container) {
  const header = headerOf(container);
  return 16 + encodeCore(header).length + 1 + header.signature.publicKey.length;
}

// Files on disk before this run (see the randomised primitives above).
const previous = new Map(existsSync(OUT) ? readdirSync(OUT).map((f) => [f, readFileSync(join(OUT, f))]) : []);

function stableEcdsa(name, container) {
  const old = previous.get(`${name}.ovseal`);
  if (!old || old.length !== container.length) return container;
  const header = headerOf(container);
  const start = signatureOffset(container);
  const masked = (bytes) => { const copy = Buffer.from(bytes); copy.fill(0, start, start + 64); copy.fill(0, header.headerLength - 32, header.headerLength); return copy; };
  const oldHeader = headerOf(old);
  return masked(old).equals(masked(container)) && verifyCore(oldHeader.core, oldHeader.signature) ? old : container;
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

/** The RSA key of the pkcs11-rsa-oaep vectors: the previous run's, else a new one. */
function oaepKey() {
  const json = previous.get('pkcs11-rsa-oaep-sha256.json');
  if (json) return createPrivateKey(JSON.parse(json.toString()).identity.privateKeyPem);
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

/**
 * The pkcs11-rsa-oaep stanza, wrapped with the public key as anyone holding it can. OAEP is
 * randomised: the body of the previous run's vector is kept while it decrypts to the same value.
 */
function oaepRecipient(privateKey, hash, vectorName) {
  const publicKey = createPublicKey(privateKey);
  return {
    async wrap(dataKey, context) {
      const bound = boundValue(dataKey, context);
      const old = previous.get(`${vectorName}.ovseal`);
      const oldStanza = old && headerOf(old).stanzas.find((s) => s.type === RSA_OAEP_STANZA && s.args[1] === hash);
      const reused = oldStanza && (() => {
        try {
          return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, oldStanza.body).equals(Buffer.from(bound)) ? oldStanza.body : undefined;
        } catch {
          return undefined;
        }
      })();
      const body = reused ?? publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, bound);
      return [{ type: RSA_OAEP_STANZA, args: [rsaKeyId(publicKey), hash], body }];
    },
  };
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const kek = seeded('kek', 32);
const otherKek = seeded('other kek', 32);
const recipient = specFileRecipient(kek);
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
const dataKey = seeded('data key', 32);
const base = await sealBytes({ entries: irEntries, recipients: [recipient], dataKey });
add('ir-basic', 'OpenVINO IR pair plus an aux file, one file recipient, 4096-byte segments', 'success', base, { kek, entries: digests(irEntries) });

const edge = [
  { name: 'empty', role: 'aux', data: Buffer.alloc(0) },
  { name: 'exact.bin', role: 'weights', data: seeded('exact.bin', 2 * SEGMENT) },
  { name: 'one.bin', role: 'aux', data: seeded('one.bin', 1) },
  { name: 'model.xml', role: 'xml', data: Buffer.from(ir.xml) },
];
add('segment-edges', 'an empty entry, an entry of exactly two segments, a one-byte entry', 'success', await sealBytes({ entries: edge, recipients: [recipient] }), { kek, entries: digests(edge) });

const unknownStanza = { async wrap() { return [{ type: 'x-future-provider', args: ['v9'], body: seeded('unknown stanza body', 40) }]; } };
const multi = await sealBytes({ entries: irEntries, recipients: [specFileRecipient(otherKek), unknownStanza, recipient] });
add('multi-recipient', 'three stanzas: another key, an unknown type (skipped), then ours', 'success', multi, { kek, entries: digests(irEntries) });

const unicode = [{ name: 'données/模型.xml', role: 'xml', data: Buffer.from(ir.xml) }, { name: 'données/模型.bin', role: 'weights', data: Buffer.from(ir.weights) }];
add('unicode-names', 'printable non-ASCII model name, version and entry names are allowed', 'success',
  await sealBytes({ entries: unicode, recipients: [recipient], name: 'détecteur-文字', version: '4.0.0+ü' }), { kek, entries: digests(unicode) });

for (const algorithm of ['ed25519', 'ecdsa-p256']) {
  const publisher = seededSigningKey(algorithm, algorithm);
  const name = `signed-${algorithm}`;
  let signed = await sealBytes({ entries: irEntries, recipients: [recipient], signer: publisher.privateKeyPem, dataKey });
  if (algorithm === 'ecdsa-p256') signed = stableEcdsa(name, signed);
  add(name, `signed with ${algorithm}, opened with that key trusted`, 'success', signed, { kek, trust: publisher.publicKeyPem, entries: digests(irEntries) });
  if (algorithm !== 'ed25519') continue;
  add('signed-no-trust', 'a valid Ed25519 signature, opened without a trusted key: it is verified, and the container opens', 'success', signed, { kek, entries: digests(irEntries) });
  const stranger = seededSigningKey('ed25519', 'stranger');
  add('signature-untrusted', 'valid Ed25519 signature by a key that is not trusted', 'signature failure', signed, { kek, trust: stranger.publicKeyPem, error: 'ERR_SIGNATURE_UNTRUSTED' });
  add('signature-missing', 'unsigned container opened with a trusted key required', 'signature failure', base, { kek, trust: publisher.publicKeyPem, error: 'ERR_SIGNATURE_MISSING' });
  const forged = reseal(signed, dataKey, (entries) => entries.map((e) => (e.role === 'weights' ? { ...e, data: Buffer.alloc(e.data.length, 0x41) } : e)), { keepDigest: true });
  add('signature-forged-payload', 'a data-key holder re-encrypted other weights and kept the signed core: the payload digest no longer matches', 'signature failure', forged, { kek, trust: publisher.publicKeyPem, error: 'ERR_SIGNATURE_INVALID' });
  add('signature-forged-payload-no-trust', 'the same forgery opened without a trusted key: a present signature is always verified, digest included', 'signature failure', forged, { kek, error: 'ERR_SIGNATURE_INVALID' });
  const badSig = Buffer.from(signed);
  badSig[signatureOffset(signed)] ^= 0x01;
  add('signature-invalid', 'one bit of the Ed25519 signature flipped', 'signature failure', badSig, { kek, trust: publisher.publicKeyPem, error: 'ERR_SIGNATURE_INVALID' });
  const header = headerOf(signed);
  const flippedSignature = Buffer.from(header.signature.signature);
  flippedSignature[0] ^= 0x01;
  const badSigMac = Buffer.concat([headerAreaOf({ ...header, signature: { ...header.signature, signature: flippedSignature } }, dataKey, header.payloadOffset), signed.subarray(header.payloadOffset)]);
  add('signature-invalid-no-trust', 'a signature bit flipped and the header re-MACed, opened without a trusted key: refused', 'signature failure', badSigMac, { kek, error: 'ERR_SIGNATURE_INVALID' });
}

// --- pkcs11 stanzas (§5.3)
const tokenKek = seeded('pkcs11 token kek', 32);
const kwpIdentity = { type: 'pkcs11-aes-kwp', kek: tokenKek.toString('hex') };
const kwpContainer = await sealBytes({ entries: irEntries, recipients: [kwpRecipient(tokenKek)] });
add('pkcs11-aes-kwp', 'a pkcs11-aes-kwp stanza: the data key wrapped by an AES key in a token (RFC 5649)', 'success', kwpContainer, { identity: kwpIdentity, entries: digests(irEntries) });
const rsaKey = oaepKey();
const rsaIdentity = { type: 'pkcs11-rsa-oaep', privateKeyPem: rsaKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
for (const hash of ['sha256', 'sha1']) {
  const name = `pkcs11-rsa-oaep-${hash}`;
  const sealed = await sealBytes({ entries: irEntries, recipients: [specFileRecipient(otherKek), oaepRecipient(rsaKey, hash, name)] });
  add(name, `a file stanza of another key, then a pkcs11-rsa-oaep stanza (OAEP with ${hash})`, 'success', sealed, { identity: rsaIdentity, entries: digests(irEntries) });
}
const kwpDonor = await sealBytes({ entries: irEntries, recipients: [kwpRecipient(tokenKek)] });
const kwpSpan = (c) => { const h = headerOf(c); const end = h.headerLength - 32; const len = 1 + AES_KWP_STANZA.length + 1 + 2 + 16 + 4 + 72; return [end - len, end]; };
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
const stanzaSpan = (c) => { const h = headerOf(c); const end = h.headerLength - 32; const len = 1 + 4 + 1 + 2 + 16 + 4 + 60; return [end - len, end]; };
const [from, to] = stanzaSpan(base);
const [dFrom, dTo] = stanzaSpan(donor);
const moved = Buffer.from(base); donor.copy(moved, from, dFrom, dTo);
add('stanza-moved', "the file stanza replaced by the same key's stanza from another container", 'header failure', moved, { kek, error: 'ERR_AUTHENTICATION_FAILED' });

// Rules of §3.2 and §5, broken by a data-key holder who MACs the header: only the rule refuses them.
const ESC = '\u001b';
const rules = [
  ['text-control-in-name', 'the model name holds a terminal escape (ESC [2K ESC [1G …): control characters are refused', (f) => ({ ...f, modelName: `vector${ESC}[2K${ESC}[1Gsignature ed25519 (trusted)` })],
  ['text-control-in-stanza-arg', 'a stanza argument ends in CR: control characters are refused', (f) => ({ ...f, stanzas: [...f.stanzas, { type: 'x-future-provider', args: ['v9\r'], body: Buffer.alloc(8) }] })],
  ['text-bidi-in-entry-name', 'an entry name holds U+202E RIGHT-TO-LEFT OVERRIDE: bidi formatting characters are refused', (f) => ({ ...f, entries: f.entries.map((e) => (e.role === 'aux' ? { ...e, name: 'labels\u202etxt.exe' } : e)) })],
  ['entry-name-prefix', 'entry "model.xml" next to "model.xml/labels.txt": a file cannot also be a directory', (f) => ({ ...f, entries: f.entries.map((e) => (e.role === 'aux' ? { ...e, name: 'model.xml/labels.txt' } : e)) })],
  ['entry-name-case', 'entries "model.bin" and "MODEL.BIN": names equal after folding are refused', (f) => ({ ...f, entries: f.entries.map((e) => (e.role === 'aux' ? { ...e, name: 'MODEL.BIN' } : e)) })],
];
for (const [name, description, change] of rules) {
  const fields = change(headerOf(base));
  const container = Buffer.concat([headerAreaOf(fields, dataKey, headerOf(base).payloadOffset), base.subarray(headerOf(base).payloadOffset)]);
  add(name, description, 'header failure', container, { kek, error: 'ERR_MALFORMED_HEADER' });
}
const twice = await sealBytes({ entries: irEntries, recipients: [{ wrap: async (key, ctx) => [...(await recipient.wrap(key, ctx)), ...(await recipient.wrap(key, ctx))] }] });
add('stanza-duplicate-key', 'two valid file stanzas for the same key: an identity tries neither (one attempt per key, whatever the order)', 'header failure', twice, { kek, error: 'ERR_MALFORMED_HEADER' });

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
add('no-match', 'sealed to another key only', 'no match', await sealBytes({ entries: irEntries, recipients: [specFileRecipient(otherKek)] }), { kek, error: 'ERR_NO_MATCHING_KEY' });

/** Re-encrypts the weights' final segment with last = 0, as if more segments had followed. */
function rewrapLastFlag(container, key) {
  const h = headerOf(container);
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

writeFileSync(join(OUT, 'README.md'), `# Test vectors\n\nGenerated by \`pnpm vectors\` (scripts/gen-vectors.mjs, deterministic); format and outcomes: docs/FORMAT.md §9.\nChecked by packages/container/test/vectors.test.ts. Do not edit by hand.\n\n${vectors.map((v) => `- ${v}`).join('\n')}\n`);
console.log(`wrote ${vectors.length} vectors to ${OUT}`);
