#!/usr/bin/env node
// Generates the test vectors of docs/FORMAT.md §10 into test-fixtures/vectors/, and the table of
// rules and vectors in docs/FORMAT.md. Run with `pnpm vectors` after changing the format; commit
// the result with the code and the spec.
//
// Written from the spec, not from the reference code: every byte is encoded here with node:crypto
// alone, so the vectors check the reference reader instead of repeating it. Deterministic: every
// key, nonce, id, salt, ECDSA nonce, OAEP seed and RSA prime comes from a fixed seed, so two runs
// write the same files.
//
// Failure vectors break one rule and keep every other: the MAC, the key commitment, the wrap
// context of the stanzas and the signature are computed over the broken header, so a reader that
// skips that one check opens the vector (its JSON says so with "isolates"). Vectors that test the
// order of the checks break two rules on purpose.
//
// `node scripts/gen-vectors.mjs --check` writes nothing: it generates into a temporary directory
// and fails when the result differs from test-fixtures/vectors or from the table in docs/FORMAT.md
// (the vectors test runs it, so vectors out of step with this script, or not reproducible, fail).
import {
  checkPrimeSync,
  constants,
  createCipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  publicEncrypt,
  sign,
} from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tinyIr } from '../test-fixtures/index.mjs';

const CHECK = process.argv.includes('--check');
const COMMITTED = new URL('../test-fixtures/vectors/', import.meta.url).pathname;
const OUT = CHECK ? mkdtempSync(join(tmpdir(), 'ovseal-vectors-')) : COMMITTED;
const SPEC = new URL('../docs/FORMAT.md', import.meta.url).pathname;

// ---------------------------------------------------------------------------------------------
// Bytes

const concat = (...parts) => Buffer.concat(parts.map((p) => Buffer.from(p)));
const sha256 = (...parts) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const u8 = (n) => Buffer.of(n);
const u16 = (n) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
/** A text field as bytes: strings are UTF-8; a Buffer is written as is (for invalid UTF-8). */
const textBytes = (t) => (Buffer.isBuffer(t) ? t : Buffer.from(t, 'utf8'));
const str8 = (t) => concat(u8(textBytes(t).length), textBytes(t));
const str16 = (t) => concat(u16(textBytes(t).length), textBytes(t));
const alignUp = (n, to) => Math.ceil(n / to) * to;

/** `length` bytes named by `label`: the same on every run. */
function seeded(label, length) {
  const out = Buffer.alloc(Math.ceil(length / 32) * 32);
  for (let block = 0; block * 32 < length; block++) sha256(`ovseal/v1 test vectors\n${label}\n${block}`).copy(out, block * 32);
  return out.subarray(0, length);
}

const big = (bytes) => BigInt(`0x${hex(bytes) || '0'}`);
const bigBytes = (n, length) => Buffer.from(n.toString(16).padStart(length * 2, '0'), 'hex');
function modInverse(a, m) {
  let [oldR, r, oldS, s] = [a % m, m, 1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}

// ---------------------------------------------------------------------------------------------
// The format (docs/FORMAT.md §3–§6)

const MAGIC = Buffer.from('OVSEAL');
const ROLES = { xml: 1, weights: 2, onnx: 3, blob: 4, aux: 5 };
const SEGMENT = 4096;
const TAG = 16;
const NOW = Date.UTC(2027, 0, 1) / 1000;
const CREATED = Date.UTC(2026, 10, 26) / 1000;

const hkdf = (ikm, salt, info) => Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));
function keysOf(dataKey, salt) {
  return {
    payloadKey: hkdf(dataKey, salt, 'ovseal/v1 payload key'),
    macKey: hkdf(dataKey, salt, 'ovseal/v1 header mac key'),
    commitment: hkdf(dataKey, salt, 'ovseal/v1 key commitment'),
  };
}

function encodeCore(c) {
  const entries = c.entries.map((e) => concat(str16(e.name), u8(typeof e.role === 'number' ? e.role : ROLES[e.role]), u64(e.size)));
  return concat(
    c.containerId,
    c.salt,
    c.commitment,
    u32(c.segmentSize),
    c.payloadDigest,
    u64(c.createdAt),
    u64(c.notAfter),
    str16(c.modelName),
    str16(c.modelVersion),
    str8(c.format),
    u16(c.entryCount ?? c.entries.length),
    ...entries,
  );
}

function encodeStanzas(stanzas) {
  return concat(
    u16(stanzas.length),
    ...stanzas.map((s) => concat(str8(s.type), u8(s.args.length), ...s.args.map(str16), u32(s.body.length), s.body)),
  );
}

function wrapContext(containerId, modelName, modelVersion) {
  return { containerId, aad: concat('ovseal/v1 wrap\n', containerId, str16(modelName), str16(modelVersion)) };
}

/** §6.1: every entry cut into segments, each sealed under its nonce (entry, index, last). */
function sealPayload(payloadKey, entries, segmentSize) {
  const segments = [];
  entries.forEach((entry, i) => {
    const count = Math.max(1, Math.ceil(entry.data.length / segmentSize));
    for (let j = 0; j < count; j++) {
      const last = j === count - 1;
      const nonce = concat(u32(i), bigBytes(BigInt(j), 7), u8(last ? 1 : 0));
      const cipher = createCipheriv('aes-256-gcm', payloadKey, nonce);
      const plain = entry.data.subarray(j * segmentSize, Math.min(entry.data.length, (j + 1) * segmentSize));
      segments.push({ entry: i, index: j, last, sealed: concat(cipher.update(plain), cipher.final(), cipher.getAuthTag()) });
    }
  });
  return segments;
}

const payloadDigestOf = (segments) => sha256('ovseal/v1 payload digest\n', ...segments.map((s) => sha256(s.sealed)));

// ---------------------------------------------------------------------------------------------
// Publisher keys and signatures (§3.3)

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

function ed25519Signer(label) {
  const privateKey = createPrivateKey({ key: concat(ED25519_PKCS8, seeded(`signing key ${label}`, 32)), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  return {
    algorithm: 1,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicRaw: Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url'),
    sign: (message) => sign(null, message, privateKey),
  };
}

/**
 * ECDSA P-256 with SHA-256 and a seeded nonce k, so that the vectors are reproducible (OpenSSL
 * draws k at random). k·G comes from OpenSSL (ECDH's public key of k); the vectors test checks
 * every signature with OpenSSL.
 */
function p256Signer(label) {
  const d = (big(seeded(`signing key ${label}`, 32)) % (P256_N - 1n)) + 1n;
  const publicRaw = createECDH('prime256v1').setPrivateKey(bigBytes(d, 32)).getPublicKey();
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: publicRaw.subarray(1, 33).toString('base64url'),
    y: publicRaw.subarray(33).toString('base64url'),
  };
  return {
    algorithm: 2,
    publicKeyPem: createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString(),
    publicRaw,
    sign(message) {
      const z = big(sha256(message));
      for (let attempt = 0; ; attempt++) {
        const k = (big(seeded(`ecdsa nonce ${label} ${hex(sha256(message))} ${attempt}`, 32)) % (P256_N - 1n)) + 1n;
        const r = big(createECDH('prime256v1').setPrivateKey(bigBytes(k, 32)).getPublicKey().subarray(1, 33)) % P256_N;
        const s = (modInverse(k, P256_N) * ((z + r * d) % P256_N)) % P256_N;
        if (r !== 0n && s !== 0n) return concat(bigBytes(r, 32), bigBytes(s, 32));
      }
    },
  };
}

/** The other half of the ECDSA signatures: (r, n − s) verifies as well as (r, s). */
function otherS(signature) {
  const s = big(signature.subarray(32));
  return concat(signature.subarray(0, 32), bigBytes(P256_N - s, 32));
}

// ---------------------------------------------------------------------------------------------
// Stanzas (§5). A recipient is (dataKey, context, seed) => stanzas.

const kekIdOf = (kek) => hex(sha256('ovseal/v1 kek id\n', kek)).slice(0, 16);

/** §5.1 `file` / `env`: nonce ‖ AES-256-GCM(HKDF(kek, "ovseal/v1 kek wrap"), nonce, dataKey, aad) ‖ tag. */
function fileRecipient(kek, { type = 'file', args, wrapKey, body = (b) => b } = {}) {
  return (dataKey, context, seed) => {
    const nonce = seeded(`${seed} file nonce ${kekIdOf(kek)} ${type}`, 12);
    const cipher = createCipheriv('aes-256-gcm', hkdf(kek, Buffer.alloc(0), 'ovseal/v1 kek wrap'), nonce);
    cipher.setAAD(context.aad);
    const sealed = concat(nonce, cipher.update(wrapKey ?? dataKey), cipher.final(), cipher.getAuthTag());
    return [{ type, args: args ?? [kekIdOf(kek)], body: body(sealed) }];
  };
}

const KWP_IV = Buffer.from('A65959A6', 'hex');
function kwp(kek, plain) {
  const cipher = createCipheriv('id-aes256-wrap-pad', kek, KWP_IV);
  return concat(cipher.update(plain), cipher.final());
}
const boundValue = (dataKey, aad) => concat(dataKey, sha256('ovseal/v1 pkcs11 bind\n', aad));
const kwpKekIdOf = (kek) => hex(sha256('ovseal/v1 pkcs11 kek id\n', kwp(kek, sha256('ovseal/v1 pkcs11 kek check\n')))).slice(0, 16);

/** §5.3 `pkcs11-aes-kwp`: AES-KWP(kek, dataKey ‖ SHA-256("ovseal/v1 pkcs11 bind\n" ‖ aad)). */
function kwpRecipient(kek, { args, boundAad, body = (b) => b } = {}) {
  return (dataKey, context) => [
    { type: 'pkcs11-aes-kwp', args: args ?? [kwpKekIdOf(kek)], body: body(kwp(kek, boundValue(dataKey, boundAad ?? context.aad))) },
  ];
}

/** MGF1 (RFC 8017 B.2.1). */
function mgf1(seed, length, hash) {
  let mask = Buffer.alloc(0);
  for (let counter = 0; mask.length < length; counter++) mask = concat(mask, createHash(hash).update(seed).update(u32(counter)).digest());
  return mask.subarray(0, length);
}

/**
 * RSAES-OAEP (RFC 8017 §7.1.1, empty label) with a seeded seed: the EME-OAEP encoding here, the RSA
 * operation by OpenSSL. The vectors test decrypts every body with OpenSSL's OAEP.
 */
function oaepEncrypt(publicKey, message, hash, seedLabel) {
  const k = publicKey.asymmetricKeyDetails.modulusLength / 8;
  const hLen = createHash(hash).digest().length;
  const db = concat(createHash(hash).digest(), Buffer.alloc(k - message.length - 2 * hLen - 2), u8(1), message);
  const seed = seeded(seedLabel, hLen);
  const dbMask = mgf1(seed, db.length, hash);
  const maskedDb = Buffer.from(db.map((byte, i) => byte ^ dbMask[i]));
  const seedMask = mgf1(maskedDb, hLen, hash);
  const maskedSeed = Buffer.from(seed.map((byte, i) => byte ^ seedMask[i]));
  return publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, concat(u8(0), maskedSeed, maskedDb));
}

/** §5.3 `pkcs11-rsa-oaep`: RSAES-OAEP(publicKey, bound value) with `hash`; args [keyId, hash]. */
function oaepRecipient(rsa, hash, { hashArg = hash } = {}) {
  return (dataKey, context, seed) => [
    {
      type: 'pkcs11-rsa-oaep',
      args: [rsa.keyId, hashArg],
      body: oaepEncrypt(rsa.publicKey, boundValue(dataKey, context.aad), hash, `${seed} oaep seed ${hash}`),
    },
  ];
}

/** An RSA-2048 key from seeded primes (OpenSSL tests primality). */
function seededRsaKey(label) {
  const e = 65537n;
  const prime = (which) => {
    for (let attempt = 0; ; attempt++) {
      const candidate = Buffer.from(seeded(`rsa ${label} ${which} ${attempt}`, 128));
      candidate[0] |= 0xc0;
      candidate[127] |= 1;
      if ((big(candidate) - 1n) % e !== 0n && checkPrimeSync(candidate)) return big(candidate);
    }
  };
  const p = prime('p');
  const q = prime('q');
  const d = modInverse(e, (p - 1n) * (q - 1n));
  const b64 = (n) => bigBytes(n, Math.ceil(n.toString(16).length / 2)).toString('base64url');
  const privateKey = createPrivateKey({
    key: {
      kty: 'RSA',
      n: b64(p * q),
      e: b64(e),
      d: b64(d),
      p: b64(p),
      q: b64(q),
      dp: b64(d % (p - 1n)),
      dq: b64(d % (q - 1n)),
      qi: b64(modInverse(q, p)),
    },
    format: 'jwk',
  });
  const publicKey = createPublicKey(privateKey);
  return {
    publicKey,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    keyId: hex(sha256(publicKey.export({ format: 'der', type: 'spki' }))).slice(0, 16),
  };
}

const unknownStanza =
  (type = 'x-future-provider', args = ['v9'], body = seeded(`unknown stanza ${type}`, 40)) =>
  () => [{ type, args, body }];

// ---------------------------------------------------------------------------------------------
// Building a container

const ir = tinyIr({ shape: [1, 3, 24, 40], addend: 0.5 }); // 11 520 weight bytes: two full segments and a partial one
const IR_ENTRIES = [
  { name: 'model.xml', role: 'xml', data: Buffer.from(ir.xml) },
  { name: 'model.bin', role: 'weights', data: Buffer.from(ir.weights) },
  { name: 'labels.txt', role: 'aux', data: Buffer.from('background\ntext\n') },
];
const withEntryName = (index, name) => IR_ENTRIES.map((e, i) => (i === index ? { ...e, name } : e));

/**
 * A container from a description. Edits apply at the stage named, so what comes after is computed
 * over the edited bytes: `core` before signing, `coreAfterSigning` after (a stale signature),
 * `stanzas`, `body` (core ‖ signature block ‖ stanzas) and `preamble` before the MAC, `mac` on the
 * MAC itself, `tamper` on the header area after the MAC (a stale MAC), `file` on the whole file.
 */
function build(seed, spec = {}) {
  const entries = spec.entries ?? IR_ENTRIES;
  const dataKey = spec.dataKey ?? seeded(`${seed} data key`, 32);
  const salt = seeded(`${seed} salt`, 32);
  const keys = keysOf(dataKey, salt);
  const segmentSize = spec.segmentSize ?? SEGMENT;
  let segments = sealPayload(keys.payloadKey, entries, segmentSize);
  const payloadDigest = payloadDigestOf(segments);
  if (spec.forgedEntries) segments = sealPayload(keys.payloadKey, spec.forgedEntries, segmentSize);
  segments = spec.segments?.(segments, keys) ?? segments;
  let core = {
    containerId: seeded(`${seed} container id`, 16),
    salt,
    commitment: keys.commitment,
    segmentSize,
    payloadDigest,
    createdAt: CREATED,
    notAfter: 0,
    modelName: 'vector-model',
    modelVersion: '1.0.0',
    format: 'openvino-ir',
    entries: entries.map((e) => ({ name: e.name, role: e.role, size: e.data.length })),
    ...spec.fields,
  };
  core = spec.core?.(core) ?? core;
  let signatureBlock = u8(0);
  let signature;
  if (spec.signer) {
    signature = spec.signer.sign(concat('ovseal/v1 signature\n', encodeCore(core)));
    signature = spec.signature?.(signature) ?? signature;
    signatureBlock = concat(u8(spec.signer.algorithm), spec.publicKey?.(spec.signer.publicRaw) ?? spec.signer.publicRaw, signature);
  }
  core = spec.coreAfterSigning?.(core) ?? core;
  const coreBytes = encodeCore(core);
  const context = wrapContext(core.containerId, core.modelName, core.modelVersion);
  let stanzas = (spec.recipients ?? [fileRecipient(KEK_A)]).flatMap((recipient) => recipient(dataKey, context, seed));
  stanzas = spec.stanzas?.(stanzas) ?? stanzas;
  let body = concat(coreBytes, signatureBlock, encodeStanzas(stanzas));
  body = spec.body?.(body, { coreLength: coreBytes.length }) ?? body;
  const headerLength = 16 + body.length + 32;
  const payloadOffset = spec.payloadOffset?.(headerLength) ?? alignUp(headerLength, 4096);
  let preamble = concat(MAGIC, u16(1), u32(headerLength), u32(payloadOffset));
  preamble = spec.preamble?.(preamble) ?? preamble;
  const macInput = concat(preamble, body);
  let mac = createHmac('sha256', keys.macKey).update(macInput).digest();
  mac = spec.mac?.(mac) ?? mac;
  let area = concat(macInput, mac, Buffer.alloc(Math.max(0, payloadOffset - headerLength)));
  const layout = { core: 16, signature: 16 + coreBytes.length, mac: 16 + body.length, headerLength, payloadOffset };
  area = spec.tamper?.(area, layout) ?? area;
  let file = concat(area, ...segments.map((s) => s.sealed));
  file = spec.file?.(file, layout) ?? file;
  return { file, entries: spec.forgedEntries ?? entries, dataKey, layout };
}

const flip = (bytes, offset, mask = 0x01) => {
  const copy = Buffer.from(bytes);
  copy[offset] ^= mask;
  return copy;
};
/** File offsets of the fixed fields of the core (§3.2). */
const CORE = { commitment: 64, segmentSize: 96, createdAt: 132, notAfter: 140 };

// ---------------------------------------------------------------------------------------------
// Keys of the vectors

const KEK_A = seeded('kek', 32);
const KEK_B = seeded('other kek', 32);
const TOKEN_KEK = seeded('token kek', 32);
const RSA = seededRsaKey('token rsa');
const PUBLISHER = ed25519Signer('ed25519');
const PUBLISHER_P256 = p256Signer('ecdsa-p256');
const STRANGER = ed25519Signer('stranger');
const fileIdentity = (kek) => ({ type: 'file', kek: hex(kek) });
const ID_A = fileIdentity(KEK_A);
const ID_B = fileIdentity(KEK_B);
const ID_KWP = { type: 'pkcs11-aes-kwp', kek: hex(TOKEN_KEK) };
const ID_OAEP = { type: 'pkcs11-rsa-oaep', privateKeyPem: RSA.privateKeyPem };

// ---------------------------------------------------------------------------------------------
// Writing vectors

const vectors = [];
const ERROR_STAGE = {
  ERR_MALFORMED_HEADER: 'header failure',
  ERR_UNSUPPORTED_VERSION: 'header failure',
  ERR_LIMIT_EXCEEDED: 'header failure',
  ERR_EXPIRED: 'header failure',
  ERR_NO_MATCHING_KEY: 'no match',
  ERR_SIGNATURE_MISSING: 'signature failure',
  ERR_SIGNATURE_INVALID: 'signature failure',
  ERR_SIGNATURE_UNTRUSTED: 'signature failure',
};

/**
 * One vector: NAME.ovseal and NAME.json. `error` absent means success; `payload` marks a failure
 * met in the payload (after the header authenticated) for the two codes that occur in both.
 */
function add(
  name,
  description,
  built,
  { rules = [], isolates, error, payload = false, streamError, identities = [ID_A], trust = null, now = NOW },
) {
  if (vectors.some((v) => v.name === name)) throw new Error(`duplicate vector ${name}`);
  if (isolates && !rules.includes(isolates)) throw new Error(`${name}: isolates a rule it does not list`);
  const expect = error ? (ERROR_STAGE[error] ?? (payload ? 'payload failure' : 'header failure')) : 'success';
  const json = {
    description,
    rules,
    ...(isolates ? { isolates } : {}),
    expect,
    ...(error ? { error } : {}),
    ...(streamError ? { streamError } : {}),
    identities,
    trust: trust && trust.map((signer) => signer.publicKeyPem),
    now,
    entries: error ? [] : built.entries.map((e) => ({ name: e.name, role: e.role, sha256: hex(sha256(e.data)) })),
  };
  vectors.push({ name, rules, expect });
  writeFileSync(join(OUT, `${name}.ovseal`), built.file);
  writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

// --- success

add('ir-basic', 'OpenVINO IR pair plus an aux file, one file recipient, 4096-byte segments', build('ir-basic'), {});
const edges = [
  { name: 'empty', role: 'aux', data: Buffer.alloc(0) },
  { name: 'exact.bin', role: 'weights', data: seeded('exact.bin', 2 * SEGMENT) },
  { name: 'one.bin', role: 'aux', data: seeded('one.bin', 1) },
  { name: 'model.xml', role: 'xml', data: Buffer.from(ir.xml) },
];
add(
  'segment-edges',
  'an empty entry (one empty segment), an entry of exactly two segments (no empty third), a one-byte entry',
  build('segment-edges', { entries: edges }),
  {},
);
add(
  'multi-recipient',
  'three stanzas: another key, an unknown type (skipped), then ours',
  build('multi-recipient', { recipients: [fileRecipient(KEK_B), unknownStanza(), fileRecipient(KEK_A)] }),
  { rules: ['R-KEY-3'] },
);
const unicode = [
  { name: 'données/模型.xml', role: 'xml', data: Buffer.from(ir.xml) },
  { name: 'données/模型.bin', role: 'weights', data: Buffer.from(ir.weights) },
];
add(
  'unicode-names',
  'printable non-ASCII model name, version and entry names are allowed',
  build('unicode-names', { entries: unicode, fields: { modelName: 'détecteur-文字', modelVersion: '4.0.0+ü' } }),
  { rules: ['R-TEXT-1'] },
);
add(
  'header-no-padding',
  'payloadOffset equals headerLength: no padding at all',
  build('header-no-padding', { payloadOffset: (length) => length }),
  { rules: ['R-HDR-3'] },
);
add(
  'stanza-env-type',
  'an env stanza: the holder of the key-encryption key opens it like a file stanza',
  build('stanza-env-type', { recipients: [fileRecipient(KEK_A, { type: 'env' })] }),
  { rules: ['R-FILE-3'] },
);
add('signed-ed25519', 'signed with Ed25519, opened with that key trusted', build('signed-ed25519', { signer: PUBLISHER }), {
  rules: ['R-SIG-3', 'R-SIG-4'],
  trust: [PUBLISHER],
});
add(
  'signed-no-trust',
  'a valid Ed25519 signature, opened without a trusted key: it is verified, and the container opens',
  build('signed-ed25519', { signer: PUBLISHER }),
  { rules: ['R-SIG-3'] },
);
add(
  'signed-trust-list',
  'signed with Ed25519; the trusted keys are a stranger and the signer',
  build('signed-ed25519', { signer: PUBLISHER }),
  { rules: ['R-SIG-4'], trust: [STRANGER, PUBLISHER] },
);
add(
  'signed-ecdsa-p256',
  'signed with ECDSA P-256 (s in the low half), opened with that key trusted',
  build('signed-ecdsa-p256', { signer: PUBLISHER_P256, signature: (s) => (big(s.subarray(32)) > P256_N / 2n ? otherS(s) : s) }),
  { rules: ['R-SIG-3'], trust: [PUBLISHER_P256] },
);
add(
  'signed-ecdsa-p256-high-s',
  'signed with ECDSA P-256 with s in the high half (n − s): readers accept both halves',
  build('signed-ecdsa-p256-high-s', { signer: PUBLISHER_P256, signature: (s) => (big(s.subarray(32)) > P256_N / 2n ? s : otherS(s)) }),
  { rules: ['R-SIG-5'], trust: [PUBLISHER_P256] },
);
add(
  'expiry-boundary',
  "notAfter equals the reader's time: the second notAfter itself is still valid",
  build('expiry-boundary', { fields: { notAfter: NOW } }),
  { rules: ['R-EXP-1'] },
);
add(
  'stanza-bad-then-good',
  "two identities; the first one's stanza fails its tag, the second one's unwraps: the container opens",
  build('stanza-bad-then-good', { recipients: [fileRecipient(KEK_A, { body: (b) => flip(b, 59) }), fileRecipient(KEK_B)] }),
  { rules: ['R-KEY-4'], identities: [ID_A, ID_B] },
);
add(
  'stanza-duplicate-key-other-identity',
  "two stanzas for the first identity's key (neither tried), one for the second identity: the container opens",
  build('stanza-duplicate-key-other-identity', {
    recipients: [fileRecipient(KEK_A), fileRecipient(KEK_A, { type: 'env' }), fileRecipient(KEK_B)],
  }),
  { rules: ['R-KEY-2', 'R-KEY-4'], identities: [ID_A, ID_B] },
);
add(
  'stanza-malformed-beside-good',
  'a file stanza with two arguments (not a stanza of any key: skipped) beside a good stanza of the same key id',
  build('stanza-malformed-beside-good', {
    recipients: [fileRecipient(KEK_A, { args: [kekIdOf(KEK_A), 'x'] }), fileRecipient(KEK_A, { type: 'env' })],
  }),
  { rules: ['R-KEY-1'] },
);
add(
  'commitment-other-identity',
  "a sealer gave the first identity another key (its commitment fails), the second identity the container's key: the container opens",
  build('commitment-other-identity', {
    recipients: [fileRecipient(KEK_A, { wrapKey: seeded('not the data key', 32) }), fileRecipient(KEK_B)],
  }),
  { rules: ['R-COMMIT-2'], identities: [ID_A, ID_B] },
);

const longestName = `${'a'.repeat(255)}/${'b'.repeat(255)}/${'c'.repeat(255)}/${'d'.repeat(254)}/e`; // 1024 bytes
const maxEntries = Array.from({ length: 1024 }, (_, i) => ({
  name: i === 0 ? longestName : `e/${i}`,
  role: 'aux',
  data: Buffer.alloc(i % 3),
}));
add(
  'limits-at-maximum',
  'every limit at its maximum: 1024 entries, a 1024-byte entry name of 255-byte segments, a 256-byte model name, a 128-byte version, 64 stanzas, a 64-byte stanza type, 8 arguments of 1024 bytes, a 65 536-byte body, 16 MiB segments, createdAt and notAfter 2^53 − 1',
  build('limits-at-maximum', {
    entries: maxEntries,
    segmentSize: 16 * 1024 * 1024,
    fields: { modelName: 'n'.repeat(256), modelVersion: 'v'.repeat(128), createdAt: 2 ** 53 - 1, notAfter: 2 ** 53 - 1 },
    recipients: [
      unknownStanza(
        'x'.repeat(64),
        Array.from({ length: 8 }, (_, i) => String(i).repeat(1024)),
        Buffer.alloc(65536),
      ),
      ...Array.from({ length: 62 }, (_, i) => unknownStanza(`x-${i}`, [], Buffer.alloc(0))),
      fileRecipient(KEK_A),
    ],
  }),
  {
    rules: [
      'R-ENT-1',
      'R-ENT-3',
      'R-PATH-2',
      'R-META-1',
      'R-META-3',
      'R-STZ-1',
      'R-STZ-3',
      'R-STZ-5',
      'R-STZ-6',
      'R-STZ-7',
      'R-SEG-1',
      'R-TIME-1',
    ],
  },
);

// --- preamble (§3.1)

add(
  'preamble-short',
  'ten bytes: the magic, the version and half a length',
  { file: concat(MAGIC, u16(1), u16(0)) },
  { rules: ['R-PRE-1'], error: 'ERR_MALFORMED_HEADER' },
);
add('empty-file', 'an empty input', { file: Buffer.alloc(0) }, { rules: ['R-PRE-1'], error: 'ERR_MALFORMED_HEADER' });
add(
  'header-bad-magic',
  'magic "OVSEAM" (the MAC covers it and was recomputed)',
  build('header-bad-magic', { preamble: (p) => flip(p, 5, 0x01) }),
  { rules: ['R-PRE-2'], isolates: 'R-PRE-2', error: 'ERR_MALFORMED_HEADER' },
);
add(
  'header-unsupported-version',
  'version field 2 (MAC recomputed): an unsupported version, not a parse error',
  build('header-unsupported-version', {
    preamble: (p) => {
      const c = Buffer.from(p);
      c.writeUInt16BE(2, 6);
      return c;
    },
  }),
  { rules: ['R-PRE-3'], isolates: 'R-PRE-3', error: 'ERR_UNSUPPORTED_VERSION' },
);
add(
  'header-limit',
  'header length of 2 GiB claimed: refused before anything is read or allocated',
  build('header-limit', {
    file: (f) => {
      const c = Buffer.from(f);
      c.writeUInt32BE(0x7fffffff, 8);
      return c;
    },
  }),
  { rules: ['R-PRE-4'], error: 'ERR_LIMIT_EXCEEDED' },
);
add(
  'limit-header-length',
  'a well-formed header of 1 114 400 bytes (17 unknown stanzas with 65 536-byte bodies): over the 1 MiB limit',
  build('limit-header-length', {
    recipients: [...Array.from({ length: 17 }, (_, i) => unknownStanza(`x-${i}`, [], Buffer.alloc(65536))), fileRecipient(KEK_A)],
  }),
  { rules: ['R-PRE-4'], isolates: 'R-PRE-4', error: 'ERR_LIMIT_EXCEEDED' },
);
add(
  'limit-payload-offset',
  'payloadOffset 16 MiB + 4096 (MAC recomputed; the file is not that long)',
  build('limit-payload-offset', { payloadOffset: () => 16 * 1024 * 1024 + 4096, file: (f, l) => f.subarray(0, l.headerLength) }),
  { rules: ['R-PRE-6'], error: 'ERR_LIMIT_EXCEEDED' },
);
add(
  'header-payload-offset-inside',
  'payloadOffset one byte before the end of the header (MAC recomputed)',
  build('header-payload-offset-inside', { payloadOffset: (length) => length - 1 }),
  { rules: ['R-PRE-7'], error: 'ERR_MALFORMED_HEADER' },
);

// --- header structure (§3)

add(
  'header-length-small',
  'headerLength 40: no room for a preamble and a MAC',
  build('header-length-small', {
    file: (f) => {
      const c = Buffer.from(f);
      c.writeUInt32BE(40, 8);
      return c;
    },
  }),
  { rules: ['R-PRE-5'], error: 'ERR_MALFORMED_HEADER' },
);
add(
  'header-field-overrun',
  "the last stanza's body length says 100 bytes more than the header holds (MAC recomputed)",
  build('header-field-overrun', {
    body: (b) => {
      const c = Buffer.from(b);
      const at = c.length - 60 - 4;
      c.writeUInt32BE(160, at);
      return c;
    },
  }),
  { rules: ['R-HDR-1'], error: 'ERR_MALFORMED_HEADER' },
);
add(
  'header-trailing-bytes',
  'eight zero bytes between the last stanza and the MAC (headerLength and MAC recomputed)',
  build('header-trailing-bytes', { body: (b) => concat(b, Buffer.alloc(8)) }),
  { rules: ['R-HDR-2'], isolates: 'R-HDR-2', error: 'ERR_MALFORMED_HEADER' },
);
add(
  'header-padding',
  'a non-zero byte in the padding after the MAC (the MAC does not cover the padding)',
  build('header-padding', { tamper: (a, l) => flip(a, l.headerLength + 10) }),
  { rules: ['R-HDR-3'], isolates: 'R-HDR-3', error: 'ERR_MALFORMED_HEADER' },
);
add('header-cut', 'the input ends inside the header', build('header-cut', { file: (f) => f.subarray(0, 100) }), {
  rules: ['R-HDR-4'],
  error: 'ERR_TRUNCATED',
});
add('padding-cut', 'the input ends inside the padding', build('padding-cut', { file: (f, l) => f.subarray(0, l.headerLength + 10) }), {
  rules: ['R-HDR-4'],
  error: 'ERR_TRUNCATED',
});

// --- core fields (§3.2): each broken on its own, everything recomputed around it

const coreVector = (name, description, rule, error, spec, isolated = true) =>
  add(name, description, build(name, spec), { rules: [rule], ...(isolated ? { isolates: rule } : {}), error });
coreVector('text-invalid-utf8', 'an entry name with a 0xff byte: not UTF-8', 'R-UTF8-1', 'ERR_MALFORMED_HEADER', {
  core: (c) => ({ ...c, entries: c.entries.map((e, i) => (i === 2 ? { ...e, name: Buffer.from('labels\xff.txt', 'latin1') } : e)) }),
});
coreVector('text-overlong-utf8', 'an entry name with "/" written as the overlong C0 AF: not UTF-8', 'R-UTF8-1', 'ERR_MALFORMED_HEADER', {
  core: (c) => ({ ...c, entries: c.entries.map((e, i) => (i === 2 ? { ...e, name: Buffer.from('a\xc0\xafb', 'latin1') } : e)) }),
});
coreVector(
  'text-surrogate-utf8',
  'an entry name with ED A0 80 (an encoded UTF-16 surrogate): not UTF-8',
  'R-UTF8-1',
  'ERR_MALFORMED_HEADER',
  { core: (c) => ({ ...c, entries: c.entries.map((e, i) => (i === 2 ? { ...e, name: Buffer.from('a\xed\xa0\x80b', 'latin1') } : e)) }) },
);
coreVector('time-created-at-range', 'createdAt 2^53: larger than 2^53 − 1', 'R-TIME-1', 'ERR_MALFORMED_HEADER', {
  fields: { createdAt: 2n ** 53n },
});
coreVector('time-not-after-range', 'notAfter 2^53: larger than 2^53 − 1', 'R-TIME-1', 'ERR_MALFORMED_HEADER', {
  fields: { notAfter: 2n ** 53n },
});
coreVector('limit-segment-size', 'segment size 16 MiB + 1 (the payload sealed with it)', 'R-SEG-1', 'ERR_LIMIT_EXCEEDED', {
  segmentSize: 16 * 1024 * 1024 + 1,
});
coreVector(
  'segment-size-small',
  'segment size 4095 (the payload sealed with it): below the minimum is malformed, not a limit',
  'R-SEG-2',
  'ERR_MALFORMED_HEADER',
  { segmentSize: 4095 },
);
coreVector('limit-model-name', 'a 257-byte model name', 'R-META-1', 'ERR_LIMIT_EXCEEDED', { fields: { modelName: 'n'.repeat(257) } });
coreVector(
  'limit-model-name-utf8',
  'a model name of 129 "é": 129 characters, 258 bytes (limits count bytes)',
  'R-META-1',
  'ERR_LIMIT_EXCEEDED',
  { fields: { modelName: '\u00e9'.repeat(129) } },
);
coreVector('model-name-empty', 'an empty model name', 'R-META-2', 'ERR_MALFORMED_HEADER', { fields: { modelName: '' } });
coreVector('limit-model-version', 'a 129-byte model version', 'R-META-3', 'ERR_LIMIT_EXCEEDED', {
  fields: { modelVersion: 'v'.repeat(129) },
});
coreVector('model-version-empty', 'an empty model version', 'R-META-4', 'ERR_MALFORMED_HEADER', { fields: { modelVersion: '' } });
const ESC = '\u001b';
coreVector(
  'text-control-in-name',
  'the model name holds a terminal escape (ESC [2K ESC [1G …): control characters are refused',
  'R-TEXT-1',
  'ERR_MALFORMED_HEADER',
  { fields: { modelName: `vector${ESC}[2K${ESC}[1Gsignature ed25519 (trusted)` } },
);
coreVector('text-c1-in-name', 'the model name holds U+009B (CSI, a C1 control)', 'R-TEXT-1', 'ERR_MALFORMED_HEADER', {
  fields: { modelName: 'vector\u009b2Kmodel' },
});
coreVector('text-control-in-version', 'the model version holds DEL (U+007F)', 'R-TEXT-1', 'ERR_MALFORMED_HEADER', {
  fields: { modelVersion: '1.0\u007f' },
});
coreVector(
  'text-bidi-in-entry-name',
  'an entry name holds U+202E RIGHT-TO-LEFT OVERRIDE: bidi formatting characters are refused',
  'R-TEXT-1',
  'ERR_MALFORMED_HEADER',
  { entries: withEntryName(2, 'labels\u202etxt.exe') },
);
coreVector('text-bidi-isolate-in-name', 'the model name holds U+2066 LEFT-TO-RIGHT ISOLATE', 'R-TEXT-1', 'ERR_MALFORMED_HEADER', {
  fields: { modelName: 'vector\u2066model' },
});
add(
  'text-control-in-stanza-arg',
  'a stanza argument ends in CR: control characters are refused',
  build('text-control-in-stanza-arg', {
    recipients: [fileRecipient(KEK_A), unknownStanza('x-future-provider', ['v9\r'], Buffer.alloc(8))],
  }),
  { rules: ['R-TEXT-1'], isolates: 'R-TEXT-1', error: 'ERR_MALFORMED_HEADER' },
);
coreVector('format-unknown', 'model format "tensorflow"', 'R-FMT-1', 'ERR_MALFORMED_HEADER', { fields: { format: 'tensorflow' } });
coreVector('format-case', 'model format "ONNX": the names are compared byte for byte', 'R-FMT-1', 'ERR_MALFORMED_HEADER', {
  fields: { format: 'ONNX' },
});
coreVector('limit-entry-count', '1025 entries (empty ones)', 'R-ENT-1', 'ERR_LIMIT_EXCEEDED', {
  entries: Array.from({ length: 1025 }, (_, i) => ({ name: `e/${i}`, role: 'aux', data: Buffer.alloc(0) })),
});
coreVector('entries-none', 'no entries at all (and so no payload)', 'R-ENT-2', 'ERR_MALFORMED_HEADER', { entries: [] });
coreVector('limit-entry-name', 'a 1025-byte entry name (of segments of at most 255 bytes)', 'R-ENT-3', 'ERR_LIMIT_EXCEEDED', {
  entries: withEntryName(2, `${'a'.repeat(255)}/${'b'.repeat(255)}/${'c'.repeat(255)}/${'d'.repeat(255)}/e`),
});
coreVector('entry-role-unknown', 'entry role 6', 'R-ENT-4', 'ERR_MALFORMED_HEADER', {
  core: (c) => ({ ...c, entries: c.entries.map((e, i) => (i === 2 ? { ...e, role: 6 } : e)) }),
});
coreVector('entry-role-zero', 'entry role 0', 'R-ENT-4', 'ERR_MALFORMED_HEADER', {
  core: (c) => ({ ...c, entries: c.entries.map((e, i) => (i === 2 ? { ...e, role: 0 } : e)) }),
});
coreVector(
  'entry-size-range',
  'an entry size of 2^53 (larger than 2^53 − 1)',
  'R-ENT-5',
  'ERR_MALFORMED_HEADER',
  { core: (c) => ({ ...c, entries: c.entries.map((e, i) => (i === 2 ? { ...e, size: 2n ** 53n } : e)) }) },
  false,
);
const pathVector = (name, description, entryName) =>
  coreVector(name, description, 'R-PATH-1', 'ERR_MALFORMED_HEADER', { entries: withEntryName(2, entryName) });
pathVector('entry-name-empty', 'an empty entry name', '');
pathVector('entry-name-absolute', 'entry name "/etc/labels.txt": absolute', '/etc/labels.txt');
pathVector('entry-name-backslash', 'entry name "docs\\labels.txt": a backslash', 'docs\\labels.txt');
pathVector('entry-name-dot-dot', 'entry name "../labels.txt": a ".." segment', '../labels.txt');
pathVector('entry-name-dot', 'entry name "./labels.txt": a "." segment', './labels.txt');
pathVector('entry-name-empty-segment', 'entry name "docs//labels.txt": an empty segment', 'docs//labels.txt');
pathVector('entry-name-trailing-slash', 'entry name "docs/": an empty last segment', 'docs/');
coreVector('entry-name-segment-long', 'an entry name with a 256-byte segment', 'R-PATH-2', 'ERR_MALFORMED_HEADER', {
  entries: withEntryName(2, `docs/${'l'.repeat(256)}`),
});
coreVector(
  'entry-name-segment-long-utf8',
  'an entry name with a segment of 128 "é": 128 characters, 256 bytes (segments count bytes)',
  'R-PATH-2',
  'ERR_MALFORMED_HEADER',
  { entries: withEntryName(2, `docs/${'\u00e9'.repeat(128)}`) },
);
const foldVector = (name, description, entryName) =>
  coreVector(name, description, 'R-PATH-3', 'ERR_MALFORMED_HEADER', { entries: withEntryName(2, entryName) });
foldVector('entry-name-duplicate', 'two entries named "model.bin"', 'model.bin');
foldVector('entry-name-case', 'entries "model.bin" and "MODEL.BIN": names equal after folding are refused', 'MODEL.BIN');
add(
  'entry-name-nfc',
  'entries "café.txt" (U+00E9) and "café.txt" (e + U+0301): equal after NFC',
  build('entry-name-nfc', {
    entries: [IR_ENTRIES[0], { ...IR_ENTRIES[1], name: 'caf\u00e9.txt' }, { ...IR_ENTRIES[2], name: 'cafe\u0301.txt' }],
  }),
  { rules: ['R-PATH-3'], isolates: 'R-PATH-3', error: 'ERR_MALFORMED_HEADER' },
);
add(
  'entry-name-final-sigma',
  'entries "ΣΑΣ" and "σασ": each code point is lower-cased on its own (no final-sigma rule, which would make the last Σ a ς), so they fold alike',
  build('entry-name-final-sigma', {
    entries: [IR_ENTRIES[0], { ...IR_ENTRIES[1], name: '\u03a3\u0391\u03a3' }, { ...IR_ENTRIES[2], name: '\u03c3\u03b1\u03c3' }],
  }),
  { rules: ['R-PATH-3'], isolates: 'R-PATH-3', error: 'ERR_MALFORMED_HEADER' },
);
coreVector(
  'entry-name-prefix',
  'entry "model.xml" next to "model.xml/labels.txt": a file cannot also be a directory',
  'R-PATH-4',
  'ERR_MALFORMED_HEADER',
  { entries: withEntryName(2, 'model.xml/labels.txt') },
);
coreVector(
  'entry-name-prefix-case',
  'entry "model.xml" next to "Model.XML/labels.txt": the prefix rule applies after folding',
  'R-PATH-4',
  'ERR_MALFORMED_HEADER',
  { entries: withEntryName(2, 'Model.XML/labels.txt') },
);

// --- signature block (§3.3) and stanzas (§3.4)

// The signature block of an unsigned header is the single byte 0 right after the core: make it 3.
add(
  'signature-algorithm-unknown',
  'signature algorithm 3, nothing after it (MAC recomputed)',
  build('signature-algorithm-unknown', {
    body: (b, { coreLength }) => {
      const c = Buffer.from(b);
      c[coreLength] = 3;
      return c;
    },
  }),
  { rules: ['R-SIG-1'], isolates: 'R-SIG-1', error: 'ERR_MALFORMED_HEADER' },
);
const stanzaVector = (name, description, rule, error, recipients, isolated = true) =>
  add(name, description, build(name, { recipients }), { rules: [rule], ...(isolated ? { isolates: rule } : {}), error });
stanzaVector('limit-stanza-count', '65 stanzas: 64 of an unknown type, then ours', 'R-STZ-1', 'ERR_LIMIT_EXCEEDED', [
  ...Array.from({ length: 64 }, (_, i) => unknownStanza(`x-${i}`, [], Buffer.alloc(0))),
  fileRecipient(KEK_A),
]);
stanzaVector('stanzas-none', 'no stanzas at all', 'R-STZ-2', 'ERR_MALFORMED_HEADER', [], false);
stanzaVector('limit-stanza-type', 'a 65-byte stanza type', 'R-STZ-3', 'ERR_LIMIT_EXCEEDED', [
  unknownStanza('x'.repeat(65)),
  fileRecipient(KEK_A),
]);
stanzaVector('stanza-type-empty', 'an empty stanza type', 'R-STZ-4', 'ERR_MALFORMED_HEADER', [unknownStanza(''), fileRecipient(KEK_A)]);
stanzaVector('stanza-type-space', 'stanza type "x future": a space is not printable ASCII 0x21–0x7e', 'R-STZ-4', 'ERR_MALFORMED_HEADER', [
  unknownStanza('x future'),
  fileRecipient(KEK_A),
]);
stanzaVector('stanza-type-non-ascii', 'stanza type "x-é": not ASCII', 'R-STZ-4', 'ERR_MALFORMED_HEADER', [
  unknownStanza('x-\u00e9'),
  fileRecipient(KEK_A),
]);
stanzaVector('limit-stanza-args', 'a stanza with 9 arguments', 'R-STZ-5', 'ERR_LIMIT_EXCEEDED', [
  unknownStanza(
    'x-future-provider',
    Array.from({ length: 9 }, (_, i) => `a${i}`),
  ),
  fileRecipient(KEK_A),
]);
stanzaVector('limit-stanza-arg', 'a 1025-byte stanza argument', 'R-STZ-6', 'ERR_LIMIT_EXCEEDED', [
  unknownStanza('x-future-provider', ['a'.repeat(1025)]),
  fileRecipient(KEK_A),
]);
stanzaVector('limit-stanza-body', 'a 65 537-byte stanza body', 'R-STZ-7', 'ERR_LIMIT_EXCEEDED', [
  unknownStanza('x-future-provider', [], Buffer.alloc(65537)),
  fileRecipient(KEK_A),
]);

// --- signature (§3.3)

const sigAt = (layout, signer) => layout.signature + 1 + signer.publicRaw.length;
add('signature-missing', 'unsigned container opened with a trusted key required', build('signature-missing'), {
  rules: ['R-SIG-2'],
  isolates: 'R-SIG-2',
  error: 'ERR_SIGNATURE_MISSING',
  trust: [PUBLISHER],
});
add(
  'signature-invalid-no-trust',
  'a signature bit flipped and the header re-MACed, opened without a trusted key: refused',
  build('signature-invalid-no-trust', { signer: PUBLISHER, signature: (s) => flip(s, 0) }),
  { rules: ['R-SIG-3'], isolates: 'R-SIG-3', error: 'ERR_SIGNATURE_INVALID' },
);
add(
  'signature-core-changed',
  'createdAt changed after signing (header re-MACed): the signature no longer covers the core',
  build('signature-core-changed', { signer: PUBLISHER, coreAfterSigning: (c) => ({ ...c, createdAt: c.createdAt + 1 }) }),
  { rules: ['R-SIG-3'], isolates: 'R-SIG-3', error: 'ERR_SIGNATURE_INVALID', trust: [PUBLISHER] },
);
add(
  'signature-ed25519-s-unreduced',
  'Ed25519 S replaced by S + L (re-MACed): RFC 8032 requires S < L',
  build('signature-ed25519-s-unreduced', {
    signer: PUBLISHER,
    signature: (s) => {
      const L = 2n ** 252n + 27742317777372353535851937790883648493n;
      const le = (b) => big(Buffer.from(b).reverse());
      return concat(s.subarray(0, 32), bigBytes(le(s.subarray(32)) + L, 32).reverse());
    },
  }),
  { rules: ['R-SIG-3'], error: 'ERR_SIGNATURE_INVALID' },
);
add(
  'signature-ecdsa-bad-point',
  'a P-256 public key that is not on the curve (a bit of Y flipped; re-MACed)',
  build('signature-ecdsa-bad-point', { signer: PUBLISHER_P256, publicKey: (k) => flip(k, 64) }),
  { rules: ['R-SIG-3'], error: 'ERR_SIGNATURE_INVALID' },
);
add(
  'signature-ecdsa-compressed-prefix',
  'a P-256 public key whose first byte is 02 (not 04), 65 bytes long (re-MACed)',
  build('signature-ecdsa-compressed-prefix', { signer: PUBLISHER_P256, publicKey: (k) => concat(u8(2), k.subarray(1)) }),
  { rules: ['R-SIG-3'], error: 'ERR_SIGNATURE_INVALID' },
);
add(
  'signature-ecdsa-s-zero',
  'ECDSA s = 0 (re-MACed): r and s lie in [1, n − 1]',
  build('signature-ecdsa-s-zero', { signer: PUBLISHER_P256, signature: (s) => concat(s.subarray(0, 32), Buffer.alloc(32)) }),
  { rules: ['R-SIG-3'], error: 'ERR_SIGNATURE_INVALID' },
);
add(
  'signature-ecdsa-s-order',
  'ECDSA s = n (re-MACed): r and s lie in [1, n − 1]',
  build('signature-ecdsa-s-order', { signer: PUBLISHER_P256, signature: (s) => concat(s.subarray(0, 32), bigBytes(P256_N, 32)) }),
  { rules: ['R-SIG-3'], error: 'ERR_SIGNATURE_INVALID' },
);
add('signature-untrusted', 'valid Ed25519 signature by a key that is not trusted', build('signed-ed25519', { signer: PUBLISHER }), {
  rules: ['R-SIG-4'],
  isolates: 'R-SIG-4',
  error: 'ERR_SIGNATURE_UNTRUSTED',
  trust: [STRANGER],
});
const forgedWeights = IR_ENTRIES.map((e) => (e.role === 'weights' ? { ...e, data: Buffer.alloc(e.data.length, 0x41) } : e));
add(
  'signature-forged-payload',
  'a data-key holder re-encrypted other weights and kept the signed core: the payload digest no longer matches',
  build('signature-forged-payload', { signer: PUBLISHER, forgedEntries: forgedWeights }),
  { rules: ['R-DIG-1'], isolates: 'R-DIG-1', error: 'ERR_SIGNATURE_INVALID', payload: true, trust: [PUBLISHER] },
);
add(
  'signature-forged-payload-no-trust',
  'the same forgery opened without a trusted key: a present signature is always verified, digest included',
  build('signature-forged-payload', { signer: PUBLISHER, forgedEntries: forgedWeights }),
  { rules: ['R-DIG-1'], isolates: 'R-DIG-1', error: 'ERR_SIGNATURE_INVALID', payload: true },
);

// --- stanzas and keys (§5)

add('no-match', 'sealed to another key only', build('no-match', { recipients: [fileRecipient(KEK_B)] }), {
  rules: ['R-KEY-5'],
  error: 'ERR_NO_MATCHING_KEY',
});
add(
  'key-failure-over-no-match',
  'two identities: the first one\'s stanza fails its tag, the second has none: the failure is reported, not "no match"',
  build('key-failure-over-no-match', { recipients: [fileRecipient(KEK_A, { body: (b) => flip(b, 20) })] }),
  { rules: ['R-KEY-5'], error: 'ERR_AUTHENTICATION_FAILED', identities: [ID_B, ID_A] },
);
/** A stanza made for another container (its own data key and wrap context), as if copied from it. */
const fromOtherContainer = (recipient) => (_dataKey, _context, seed) =>
  recipient(
    seeded(`${seed} donor data key`, 32),
    wrapContext(seeded(`${seed} donor container id`, 16), 'vector-model', '1.0.0'),
    `${seed} donor`,
  );
add(
  'stanza-moved',
  "the file stanza replaced by the same key's stanza from another container",
  build('stanza-moved', { recipients: [fromOtherContainer(fileRecipient(KEK_A))] }),
  { rules: ['R-FILE-2'], error: 'ERR_AUTHENTICATION_FAILED' },
);
add(
  'stanza-file-tag',
  "a bit of the file stanza's tag flipped (the wrapped key itself is intact)",
  build('stanza-file-tag', { recipients: [fileRecipient(KEK_A, { body: (b) => flip(b, 59) })] }),
  { rules: ['R-FILE-2'], isolates: 'R-FILE-2', error: 'ERR_AUTHENTICATION_FAILED' },
);
add(
  'stanza-file-body-long',
  "the file stanza's body is 61 bytes: a valid 60-byte body and one more byte",
  build('stanza-file-body-long', { recipients: [fileRecipient(KEK_A, { body: (b) => concat(b, u8(0)) })] }),
  { rules: ['R-FILE-1'], isolates: 'R-FILE-1', error: 'ERR_AUTHENTICATION_FAILED' },
);
add(
  'stanza-file-body-short',
  "the file stanza's body is 59 bytes",
  build('stanza-file-body-short', { recipients: [fileRecipient(KEK_A, { body: (b) => b.subarray(0, 59) })] }),
  { rules: ['R-FILE-1'], error: 'ERR_AUTHENTICATION_FAILED' },
);
add(
  'stanza-file-extra-arg',
  'the only stanza of our key id has two arguments: not a file stanza of any key (skipped)',
  build('stanza-file-extra-arg', { recipients: [fileRecipient(KEK_A, { args: [kekIdOf(KEK_A), 'x'] })] }),
  { rules: ['R-KEY-1'], isolates: 'R-KEY-1', error: 'ERR_NO_MATCHING_KEY' },
);
add(
  'stanza-file-key-id-case',
  'the key id written in upper case: key ids are compared byte for byte',
  build('stanza-file-key-id-case', { recipients: [fileRecipient(KEK_A, { args: [kekIdOf(KEK_A).toUpperCase()] })] }),
  { rules: ['R-KEY-1'], error: 'ERR_NO_MATCHING_KEY' },
);
add(
  'stanza-duplicate-key',
  'two valid file stanzas for the same key: an identity tries neither (one attempt per key, whatever the order)',
  build('stanza-duplicate-key', { recipients: [fileRecipient(KEK_A), (k, c, s) => fileRecipient(KEK_A)(k, c, `${s} second`)] }),
  { rules: ['R-KEY-2'], isolates: 'R-KEY-2', error: 'ERR_MALFORMED_HEADER' },
);
add(
  'stanza-duplicate-key-file-env',
  'a file and an env stanza with the same key id: they are stanzas of one key',
  build('stanza-duplicate-key-file-env', { recipients: [fileRecipient(KEK_A), fileRecipient(KEK_A, { type: 'env' })] }),
  { rules: ['R-KEY-2'], isolates: 'R-KEY-2', error: 'ERR_MALFORMED_HEADER' },
);
add(
  'stanza-duplicate-key-one-good',
  'two stanzas for one key, the first one broken, the second good: neither is tried',
  build('stanza-duplicate-key-one-good', {
    recipients: [fileRecipient(KEK_A, { body: (b) => flip(b, 59) }), (k, c, s) => fileRecipient(KEK_A)(k, c, `${s} second`)],
  }),
  { rules: ['R-KEY-2'], error: 'ERR_MALFORMED_HEADER' },
);

add(
  'pkcs11-aes-kwp',
  'a pkcs11-aes-kwp stanza: the data key wrapped by an AES key in a token (RFC 5649)',
  build('pkcs11-aes-kwp', { recipients: [kwpRecipient(TOKEN_KEK)] }),
  { rules: ['R-P11-1'], identities: [ID_KWP] },
);
for (const hash of ['sha256', 'sha1']) {
  add(
    `pkcs11-rsa-oaep-${hash}`,
    `a file stanza of another key, then a pkcs11-rsa-oaep stanza (OAEP with ${hash})`,
    build(`pkcs11-rsa-oaep-${hash}`, { recipients: [fileRecipient(KEK_B), oaepRecipient(RSA, hash)] }),
    { rules: ['R-P11-3'], identities: [ID_OAEP] },
  );
}
add(
  'pkcs11-aes-kwp-moved',
  "the pkcs11-aes-kwp stanza replaced by the same key's stanza from another container: its bound context hash differs",
  build('pkcs11-aes-kwp-moved', { recipients: [fromOtherContainer(kwpRecipient(TOKEN_KEK))] }),
  { rules: ['R-P11-1'], error: 'ERR_AUTHENTICATION_FAILED', identities: [ID_KWP] },
);
add(
  'pkcs11-aes-kwp-wrong-context',
  "the container's own data key, bound to another container's context hash",
  build('pkcs11-aes-kwp-wrong-context', {
    recipients: [kwpRecipient(TOKEN_KEK, { boundAad: wrapContext(seeded('elsewhere', 16), 'vector-model', '1.0.0').aad })],
  }),
  { rules: ['R-P11-1'], isolates: 'R-P11-1', error: 'ERR_AUTHENTICATION_FAILED', identities: [ID_KWP] },
);
add(
  'pkcs11-aes-kwp-body-flip',
  "a bit of the pkcs11-aes-kwp body flipped: the key wrap's integrity check fails",
  build('pkcs11-aes-kwp-body-flip', { recipients: [kwpRecipient(TOKEN_KEK, { body: (b) => flip(b, 40) })] }),
  { rules: ['R-P11-2'], error: 'ERR_AUTHENTICATION_FAILED', identities: [ID_KWP] },
);
add(
  'pkcs11-aes-kwp-extra-arg',
  'the pkcs11-aes-kwp stanza has two arguments: not a stanza of any key (skipped)',
  build('pkcs11-aes-kwp-extra-arg', { recipients: [kwpRecipient(TOKEN_KEK, { args: [kwpKekIdOf(TOKEN_KEK), 'x'] })] }),
  { rules: ['R-KEY-1'], isolates: 'R-KEY-1', error: 'ERR_NO_MATCHING_KEY', identities: [ID_KWP] },
);
add(
  'pkcs11-rsa-oaep-hash-case',
  'hash argument "SHA256": only "sha256" and "sha1" are hash names (the body is OAEP with SHA-256)',
  build('pkcs11-rsa-oaep-hash-case', { recipients: [oaepRecipient(RSA, 'sha256', { hashArg: 'SHA256' })] }),
  { rules: ['R-P11-3'], isolates: 'R-P11-3', error: 'ERR_AUTHENTICATION_FAILED', identities: [ID_OAEP] },
);
add(
  'pkcs11-rsa-oaep-wrong-hash',
  'hash argument "sha256", body made with OAEP SHA-1: OAEP decoding fails',
  build('pkcs11-rsa-oaep-wrong-hash', { recipients: [oaepRecipient(RSA, 'sha1', { hashArg: 'sha256' })] }),
  { rules: ['R-P11-2'], error: 'ERR_AUTHENTICATION_FAILED', identities: [ID_OAEP] },
);

// --- key commitment, MAC, expiry (§4, §3.5)

add(
  'header-commitment',
  'the key commitment changed and the header re-MACed with the data key',
  build('header-commitment', { core: (c) => ({ ...c, commitment: flip(c.commitment, 0) }) }),
  { rules: ['R-COMMIT-1'], isolates: 'R-COMMIT-1', error: 'ERR_AUTHENTICATION_FAILED' },
);
add(
  'commitment-wrong-key',
  'the stanza wraps a key the container was not sealed under (a sealer giving this recipient another key)',
  build('commitment-wrong-key', { recipients: [fileRecipient(KEK_A, { wrapKey: seeded('not the data key', 32) })] }),
  { rules: ['R-COMMIT-1'], error: 'ERR_AUTHENTICATION_FAILED' },
);
add('header-mac', 'a bit of the MAC flipped', build('header-mac', { mac: (m) => flip(m, 31) }), {
  rules: ['R-MAC-1'],
  isolates: 'R-MAC-1',
  error: 'ERR_AUTHENTICATION_FAILED',
});
add(
  'header-mac-stale',
  'createdAt changed after the MAC was computed',
  build('header-mac-stale', { tamper: (a) => flip(a, CORE.createdAt + 7) }),
  { rules: ['R-MAC-1'], isolates: 'R-MAC-1', error: 'ERR_AUTHENTICATION_FAILED' },
);
add('expired', "notAfter one second before the reader's time", build('expired', { fields: { notAfter: NOW - 1 } }), {
  rules: ['R-EXP-1'],
  isolates: 'R-EXP-1',
  error: 'ERR_EXPIRED',
});

// --- payload (§6)

const weightsAt = (l) => l.payloadOffset + IR_ENTRIES[0].data.length + TAG;
add(
  'payload-bit-flip',
  'one ciphertext bit of the second weights segment flipped',
  build('payload-bit-flip', { file: (f, l) => flip(f, weightsAt(l) + SEGMENT + TAG + 100) }),
  { rules: ['R-TAG-1'], isolates: 'R-TAG-1', error: 'ERR_AUTHENTICATION_FAILED', payload: true },
);
add('payload-truncated', 'the last 16 bytes (a tag) cut off', build('payload-truncated', { file: (f) => f.subarray(0, f.length - 16) }), {
  rules: ['R-LEN-1'],
  error: 'ERR_TRUNCATED',
  payload: true,
});
add('payload-extended', 'one byte appended', build('payload-extended', { file: (f) => concat(f, u8(0)) }), {
  rules: ['R-LEN-1'],
  isolates: 'R-LEN-1',
  error: 'ERR_TRUNCATED',
  payload: true,
});
add(
  'payload-reordered',
  'the first two weights segments swapped',
  build('payload-reordered', {
    segments: (s) => {
      const c = [...s];
      const i = c.findIndex((x) => x.entry === 1);
      [c[i], c[i + 1]] = [c[i + 1], c[i]];
      return c;
    },
  }),
  { rules: ['R-TAG-1'], isolates: 'R-TAG-1', error: 'ERR_AUTHENTICATION_FAILED', payload: true },
);
const twoAux = [
  IR_ENTRIES[0],
  { name: 'a.txt', role: 'aux', data: Buffer.from('first aux entry\n') },
  { name: 'b.txt', role: 'aux', data: Buffer.from('other aux entry\n') },
];
add(
  'payload-entries-swapped',
  'the ciphertexts of two entries of the same size swapped: the entry index in the nonce tells',
  build('payload-entries-swapped', {
    entries: twoAux,
    segments: (s) => {
      const c = [...s];
      [c[1], c[2]] = [c[2], c[1]];
      return c;
    },
  }),
  { rules: ['R-TAG-1'], isolates: 'R-TAG-1', error: 'ERR_AUTHENTICATION_FAILED', payload: true },
);
const cutWeights = IR_ENTRIES.map((e) => (e.role === 'weights' ? { ...e, data: e.data.subarray(0, 2 * SEGMENT) } : e));
add(
  'payload-dropped-segment',
  'weights cut to two full segments, header re-MACed to match, but the second segment was not sealed as last: only the nonce flag tells',
  build('payload-dropped-segment', {
    entries: cutWeights,
    segments: (s, keys) => s.map((x) => (x.entry === 1 && x.last ? resealNotLast(x, cutWeights[1].data, keys) : x)),
  }),
  { rules: ['R-TAG-1'], isolates: 'R-TAG-1', error: 'ERR_AUTHENTICATION_FAILED', payload: true },
);
function resealNotLast(segment, data, keys) {
  const nonce = concat(u32(segment.entry), bigBytes(BigInt(segment.index), 7), u8(0));
  const cipher = createCipheriv('aes-256-gcm', keys.payloadKey, nonce);
  const plain = data.subarray(segment.index * SEGMENT, (segment.index + 1) * SEGMENT);
  return { ...segment, sealed: concat(cipher.update(plain), cipher.final(), cipher.getAuthTag()) };
}

// --- the order of the checks (§9): two rules broken, the earlier check wins

add(
  'order-magic-before-version',
  'bad magic and version 2: the magic is checked first',
  build('order-magic-before-version', {
    preamble: (p) => {
      const c = flip(p, 0);
      c.writeUInt16BE(2, 6);
      return c;
    },
  }),
  { rules: ['R-ORDER-1'], error: 'ERR_MALFORMED_HEADER' },
);
add(
  'order-header-length-before-payload-offset',
  'headerLength 40 and payloadOffset 32 MiB: headerLength is checked first',
  build('order-header-length-before-payload-offset', {
    file: (f) => {
      const c = Buffer.from(f);
      c.writeUInt32BE(40, 8);
      c.writeUInt32BE(32 * 1024 * 1024, 12);
      return c;
    },
  }),
  { rules: ['R-ORDER-1'], error: 'ERR_MALFORMED_HEADER' },
);
add(
  'order-version-before-limit',
  'version 2 and a 2 GiB header length: the version is checked before the lengths',
  build('order-version-before-limit', {
    file: (f) => {
      const c = Buffer.from(f);
      c.writeUInt16BE(2, 6);
      c.writeUInt32BE(0x7fffffff, 8);
      return c;
    },
  }),
  { rules: ['R-ORDER-1'], error: 'ERR_UNSUPPORTED_VERSION' },
);
add(
  'order-header-before-signature',
  'a control character in the model name of a signed header whose signature no longer verifies: the header rules come first',
  build('order-header-before-signature', { signer: PUBLISHER, coreAfterSigning: (c) => ({ ...c, modelName: 'vector\u0007model' }) }),
  { rules: ['R-ORDER-2'], error: 'ERR_MALFORMED_HEADER', trust: [PUBLISHER] },
);
add(
  'signature-invalid',
  'one bit of the Ed25519 signature flipped, MAC left stale: the signature is checked before any key is used',
  build('signature-invalid', { signer: PUBLISHER, tamper: (a, l) => flip(a, sigAt(l, PUBLISHER)) }),
  { rules: ['R-SIG-3', 'R-ORDER-3'], error: 'ERR_SIGNATURE_INVALID', trust: [PUBLISHER] },
);
add(
  'order-signature-before-key',
  'unsigned, a trusted key required, and no stanza for the identity: signature missing, not "no match"',
  build('order-signature-before-key', { recipients: [fileRecipient(KEK_B)] }),
  { rules: ['R-ORDER-3'], error: 'ERR_SIGNATURE_MISSING', trust: [PUBLISHER] },
);
add(
  'order-invalid-before-untrusted',
  'a broken signature by a key that is not trusted: invalid, not untrusted',
  build('order-invalid-before-untrusted', { signer: STRANGER, signature: (s) => flip(s, 0) }),
  { rules: ['R-ORDER-3'], error: 'ERR_SIGNATURE_INVALID', trust: [PUBLISHER] },
);
add(
  'order-mac-before-expiry',
  'expired, and createdAt changed after the MAC: tampering, not expiry',
  build('order-mac-before-expiry', { fields: { notAfter: NOW - 1 }, tamper: (a) => flip(a, CORE.createdAt + 7) }),
  { rules: ['R-ORDER-4'], error: 'ERR_AUTHENTICATION_FAILED' },
);
add(
  'order-no-match-before-expiry',
  'expired, and sealed to another key: expiry is only checked on an authenticated header',
  build('order-no-match-before-expiry', { fields: { notAfter: NOW - 1 }, recipients: [fileRecipient(KEK_B)] }),
  { rules: ['R-ORDER-4'], error: 'ERR_NO_MATCHING_KEY' },
);
add(
  'order-expiry-before-payload',
  'expired, and the payload truncated: expiry is refused before the payload is read',
  build('order-expiry-before-payload', { fields: { notAfter: NOW - 1 }, file: (f) => f.subarray(0, f.length - 16) }),
  { rules: ['R-ORDER-5'], error: 'ERR_EXPIRED' },
);
add(
  'order-length-before-tag',
  'a ciphertext bit flipped and one byte appended: a reader that knows the length refuses it first; a stream reader meets the bad tag first',
  build('order-length-before-tag', { file: (f, l) => concat(flip(f, weightsAt(l) + 10), u8(0)) }),
  { rules: ['R-ORDER-6'], error: 'ERR_TRUNCATED', streamError: 'ERR_AUTHENTICATION_FAILED', payload: true },
);
add(
  'order-tag-before-digest',
  'a forged payload (digest mismatch) with a bit flipped in it: the bad tag is reported',
  build('order-tag-before-digest', { signer: PUBLISHER, forgedEntries: forgedWeights, file: (f, l) => flip(f, weightsAt(l) + 10) }),
  { rules: ['R-ORDER-7'], error: 'ERR_AUTHENTICATION_FAILED', payload: true, trust: [PUBLISHER] },
);

// ---------------------------------------------------------------------------------------------
// Key text (§5.1): key-text.json, cases for file and env readers

const keyText = (kek) => `OVSEAL-KEK-1-${concat(kek, sha256('ovseal/v1 kek checksum\n', kek).subarray(0, 4)).toString('base64url')}`;
const kt = keyText(KEK_A);
const bare = KEK_A.toString('base64url');
const nonCanonical = `${bare.slice(0, 42)}${String.fromCharCode(bare.charCodeAt(42) + 1)}`;
/** A key whose text and bare form both use the two characters base64url does not share with base64. */
const KEK_URL = (() => {
  for (let i = 0; ; i++) {
    const kek = seeded(`kek with - and _ ${i}`, 32);
    const both = (text) => text.includes('-') && text.includes('_');
    if (both(keyText(kek).slice(13)) && both(kek.toString('base64url'))) return kek;
  }
})();
const toBase64Alphabet = (text) => text.replaceAll('-', '+').replaceAll('_', '/');
const keyCases = [
  ['file-basic', 'file', `# a comment\n${kt}\n`, KEK_A, ['R-KT-1', 'R-KT-3']],
  ['file-crlf-and-blanks', 'file', `# comment\r\n\r\n  ${kt}  \r\n\r\n`, KEK_A, ['R-KT-3']],
  ['file-two-keys', 'file', `${kt}\n${keyText(KEK_B)}\n`, null, ['R-KT-3']],
  ['file-bare-key', 'file', `${bare}\n`, null, ['R-KT-2']],
  ['file-checksum', 'file', `${kt.slice(0, -1)}${kt.endsWith('A') ? 'B' : 'A'}\n`, null, ['R-KT-1']],
  ['file-padding', 'file', `${kt}=\n`, null, ['R-KT-1']],
  ['file-url-alphabet', 'file', `${keyText(KEK_URL)}\n`, KEK_URL, ['R-KT-1']],
  ['file-standard-alphabet', 'file', `OVSEAL-KEK-1-${toBase64Alphabet(keyText(KEK_URL).slice(13))}\n`, null, ['R-KT-1']],
  ['file-short', 'file', `${kt.slice(0, -4)}\n`, null, ['R-KT-1']],
  ['file-byte-order-mark', 'file', `\ufeff${kt}\n`, null, ['R-KT-3']],
  ['file-no-key', 'file', '# only a comment\n\n', null, ['R-KT-3']],
  ['env-text', 'env', kt, KEK_A, ['R-KT-1']],
  ['env-text-newline', 'env', `${kt}\n`, KEK_A, ['R-KT-3']],
  ['env-bare', 'env', bare, KEK_A, ['R-KT-2']],
  ['env-bare-padded', 'env', `${bare}=`, null, ['R-KT-2']],
  ['env-bare-non-canonical', 'env', nonCanonical, null, ['R-KT-2']],
  ['env-bare-url-alphabet', 'env', KEK_URL.toString('base64url'), KEK_URL, ['R-KT-2']],
  ['env-bare-standard-alphabet', 'env', toBase64Alphabet(KEK_URL.toString('base64url')), null, ['R-KT-2']],
  ['env-bare-short', 'env', bare.slice(0, 42), null, ['R-KT-2']],
  ['env-no-break-space', 'env', `${kt}\u00a0`, null, ['R-KT-3']],
];
writeFileSync(
  join(OUT, 'key-text.json'),
  `${JSON.stringify(
    {
      description:
        'Key text (docs/FORMAT.md §5.1): "file" cases are the whole text of a key file, "env" cases the value of an environment variable. kek: the key read; error: the text is refused.',
      cases: keyCases.map(([name, source, text, kek, rules]) => ({
        name,
        rules,
        source,
        text,
        ...(kek ? { kek: hex(kek) } : { error: 'ERR_KEY_FORMAT' }),
      })),
    },
    null,
    2,
  )}\n`,
);
for (const [name, , , kek, rules] of keyCases) vectors.push({ name: `key-text.json#${name}`, rules, expect: kek ? 'success' : 'failure' });

// ---------------------------------------------------------------------------------------------
// The README and the rule table of docs/FORMAT.md

const fileVectors = vectors.filter((v) => !v.name.includes('#'));
writeFileSync(
  join(OUT, 'README.md'),
  `# Test vectors\n\nGenerated by \`pnpm vectors\` (scripts/gen-vectors.mjs, deterministic); format, outcomes and the rule each vector tests: docs/FORMAT.md §10.\nChecked by packages/container/test/vectors.test.ts. Do not edit by hand.\n\n${fileVectors.map((v) => `- ${v.name} (${v.expect})`).join('\n')}\n- key-text.json: ${keyCases.length} key text cases\n`,
);

const BEGIN = '<!-- rule table: generated by `pnpm vectors` -->';
const END = '<!-- end of rule table -->';
const spec = readFileSync(SPEC, 'utf8');
const start = spec.indexOf(BEGIN);
const end = spec.indexOf(END);
if (start < 0 || end < start) throw new Error(`docs/FORMAT.md has no rule table markers (${BEGIN} … ${END})`);
const rules = [...spec.matchAll(/\*\*(R-[A-Z0-9]+-\d+)\*\* \((MUST|SHOULD|MAY)\)/g)].map((m) => ({ id: m[1], level: m[2] }));
const unknown = vectors.flatMap((v) => v.rules).filter((id) => !rules.some((r) => r.id === id));
if (unknown.length > 0) throw new Error(`vectors name rules the spec does not define: ${[...new Set(unknown)].join(', ')}`);
const rows = rules.map(({ id, level }) => {
  const names = vectors.filter((v) => v.rules.includes(id)).map((v) => `\`${v.name}\``);
  return `| ${id} | ${level} | ${names.length > 0 ? names.join(', ') : '—'} |`;
});
const table = `${BEGIN}\n\n| rule | level | vectors |\n| --- | --- | --- |\n${rows.join('\n')}\n\n${END}`;
const newSpec = spec.slice(0, start) + table + spec.slice(end + END.length);
if (CHECK) {
  const differences = [];
  const files = (dir) => readdirSync(dir).sort();
  if (files(OUT).join('\n') !== files(COMMITTED).join('\n')) differences.push('the list of files differs');
  for (const file of files(OUT)) {
    let committed;
    try {
      committed = readFileSync(join(COMMITTED, file));
    } catch {
      continue;
    }
    if (!committed.equals(readFileSync(join(OUT, file)))) differences.push(file);
  }
  if (newSpec !== spec) differences.push('the rule table of docs/FORMAT.md');
  rmSync(OUT, { recursive: true, force: true });
  if (differences.length > 0) {
    console.error(`test-fixtures/vectors is not what pnpm vectors writes: ${differences.join(', ')}`);
    process.exit(1);
  }
  console.log(`${fileVectors.length} vectors and ${keyCases.length} key text cases: as committed`);
} else {
  writeFileSync(SPEC, newSpec);
  console.log(
    `wrote ${fileVectors.length} vectors and ${keyCases.length} key text cases to ${OUT}; rule table of docs/FORMAT.md: ${rules.length} rules`,
  );
}
