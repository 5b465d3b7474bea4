import { InvalidArgumentError, LimitExceededError, MalformedHeaderError, UnsupportedVersionError } from '../../errors.js';
import type { EntryRole, ModelFormat, SignatureAlgorithm, Stanza } from '../../types.js';
import { ByteReader, ByteWriter, type LengthLimit } from './byte-codec.js';
import { refuse, type ReaderCheck } from './reader-checks.js';
import { LIMITS } from './limits.js';

/** The byte layout of a v1 header (docs/FORMAT.md §3). */

export const MAGIC = Uint8Array.from([0x4f, 0x56, 0x53, 0x45, 0x41, 0x4c]); // "OVSEAL"
export const FORMAT_VERSION = 1;
export const PREAMBLE_LENGTH = 16;
export const MAC_LENGTH = 32;

const ROLE_CODES: Record<EntryRole, number> = { xml: 1, weights: 2, onnx: 3, blob: 4, aux: 5 };
const ROLES_BY_CODE = new Map(Object.entries(ROLE_CODES).map(([role, code]) => [code, role as EntryRole]));
const FORMATS: readonly ModelFormat[] = ['openvino-ir', 'onnx', 'openvino-blob', 'other'];

const SIGNATURE_LAYOUT: Record<SignatureAlgorithm, { code: number; publicKey: number; signature: number }> = {
  ed25519: { code: 1, publicKey: 32, signature: 64 },
  'ecdsa-p256': { code: 2, publicKey: 65, signature: 64 },
};

export interface HeaderEntry {
  readonly name: string;
  readonly role: EntryRole;
  readonly size: number;
}

export interface HeaderSignature {
  readonly algorithm: SignatureAlgorithm;
  /** Ed25519: 32 raw bytes; P-256: 65-byte uncompressed SEC1 point. */
  readonly publicKey: Uint8Array;
  /** 64 bytes (Ed25519, or P-256 r ‖ s). */
  readonly signature: Uint8Array;
}

/** Everything a header holds except its MAC. */
export interface HeaderFields {
  readonly containerId: Uint8Array;
  readonly salt: Uint8Array;
  readonly commitment: Uint8Array;
  readonly segmentSize: number;
  readonly payloadDigest: Uint8Array;
  readonly createdAt: number;
  /** Seconds since the epoch; 0 means none. */
  readonly notAfter: number;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly format: ModelFormat;
  readonly entries: readonly HeaderEntry[];
  readonly signature: HeaderSignature | null;
  readonly stanzas: readonly Stanza[];
}

/** A parsed header with the raw bytes the MAC and the signature cover. */
export interface ParsedHeader extends HeaderFields {
  readonly headerLength: number;
  readonly payloadOffset: number;
  /** Bytes [0, headerLength − 32): what the MAC covers. */
  readonly macInput: Uint8Array;
  readonly mac: Uint8Array;
  /** The core section: what the publisher signature covers. */
  readonly core: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Validation shared by the encoder (caller input) and the parser (hostile input).

const STANZA_TYPE = /^[\x21-\x7e]+$/;

/**
 * Characters no text field may hold (docs/FORMAT.md §3.2): C0 controls, DEL, C1 controls (which
 * include CSI, a one-byte escape sequence) and Unicode's bidirectional formatting characters.
 * Model names, versions, entry names and stanza arguments are shown to people.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Returns why a text field is unsafe to show, or null. */
export function textProblem(text: string): string | null {
  return UNSAFE_TEXT.test(text) ? 'contains a control or bidirectional formatting character' : null;
}

/** One segment of an entry name (between slashes), in UTF-8 bytes: what common file systems take as one name. */
export const MAX_NAME_SEGMENT_LENGTH = 255;

/** A broken entry-name rule: which one (docs/FORMAT.md §3.2), and why. */
interface NameProblem {
  readonly check: ReaderCheck;
  readonly problem: string;
}

/** Returns why an entry name is unsafe, or null. Names become paths under `ovseal open -o DIR`. */
function nameProblem(name: string): NameProblem | null {
  if (name.length === 0) return { check: 'R-PATH-1', problem: 'is empty' };
  const text = textProblem(name);
  if (text) return { check: 'R-TEXT-1', problem: text };
  if (name.includes('\\')) return { check: 'R-PATH-1', problem: 'contains a backslash' };
  if (name.startsWith('/')) return { check: 'R-PATH-1', problem: 'is absolute' };
  const segments = name.split('/');
  if (segments.some((part) => part === '' || part === '.' || part === '..')) {
    return { check: 'R-PATH-1', problem: 'has an empty, "." or ".." path segment' };
  }
  if (segments.some((part) => Buffer.byteLength(part, 'utf8') > MAX_NAME_SEGMENT_LENGTH)) {
    return { check: 'R-PATH-2', problem: `has a path segment longer than ${MAX_NAME_SEGMENT_LENGTH} bytes` };
  }
  return null;
}

/** Returns why an entry name is unsafe, or null. */
export function entryNameProblem(name: string): string | null {
  return nameProblem(name)?.problem ?? null;
}

/**
 * A name as a case-insensitive, normalisation-insensitive file system sees it: NFC, then each code
 * point lower-cased on its own (Unicode's full default mapping, no locale, and so no final-sigma
 * context: a file system compares names character by character), then NFC again.
 */
export function foldName(name: string): string {
  let lower = '';
  for (const codePoint of name.normalize('NFC')) lower += codePoint.toLowerCase();
  return lower.normalize('NFC');
}

/**
 * Every name is safe, and the names stay distinct as paths: none equal after folding, none a
 * directory of another (`a` and `a/b` cannot both be extracted). `fail` returns when the seam test
 * skips that check.
 */
function checkEntries(entries: readonly HeaderEntry[], fail: (check: ReaderCheck, message: string) => void): void {
  const byFolded = new Map<string, string>();
  for (const entry of entries) {
    const problem = nameProblem(entry.name);
    if (problem) fail(problem.check, `entry name ${JSON.stringify(entry.name)} ${problem.problem}`);
    const folded = foldName(entry.name);
    const earlier = byFolded.get(folded);
    if (earlier === entry.name) fail('R-PATH-3', `duplicate entry name ${JSON.stringify(entry.name)}`);
    else if (earlier !== undefined)
      fail(
        'R-PATH-3',
        `entry names ${JSON.stringify(earlier)} and ${JSON.stringify(entry.name)} differ only in case or Unicode normalisation`,
      );
    if (earlier === undefined) byFolded.set(folded, entry.name);
  }
  for (const [folded, name] of byFolded) {
    for (let slash = folded.indexOf('/'); slash > 0; slash = folded.indexOf('/', slash + 1)) {
      const file = byFolded.get(folded.slice(0, slash));
      if (file !== undefined) fail('R-PATH-4', `entry name ${JSON.stringify(name)} lies inside ${JSON.stringify(file)}, which is a file`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

function writeCore(w: ByteWriter, h: HeaderFields): void {
  w.bytes(h.containerId).bytes(h.salt).bytes(h.commitment).u32(h.segmentSize).bytes(h.payloadDigest);
  w.u64(h.createdAt).u64(h.notAfter);
  w.string(2, h.modelName).string(2, h.modelVersion).string(1, h.format);
  w.u16(h.entries.length);
  for (const entry of h.entries) w.string(2, entry.name).u8(ROLE_CODES[entry.role]).u64(entry.size);
}

export function encodeCore(h: HeaderFields): Uint8Array {
  const w = new ByteWriter();
  writeCore(w, h);
  return w.finish();
}

function writeSignature(w: ByteWriter, signature: HeaderSignature | null): void {
  if (!signature) {
    w.u8(0);
    return;
  }
  w.u8(SIGNATURE_LAYOUT[signature.algorithm].code).bytes(signature.publicKey).bytes(signature.signature);
}

function writeStanzas(w: ByteWriter, stanzas: readonly Stanza[]): void {
  w.u16(stanzas.length);
  for (const stanza of stanzas) {
    w.string(1, stanza.type).u8(stanza.args.length);
    for (const arg of stanza.args) w.string(2, arg);
    w.u32(stanza.body.length).bytes(stanza.body);
  }
}

/** Rejects caller input the parser would reject, so we never write a container we cannot read. */
export function validateFields(h: HeaderFields): void {
  const fail = (message: string): never => {
    throw new InvalidArgumentError(message);
  };
  const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');
  if (byteLength(h.modelName) < 1 || byteLength(h.modelName) > LIMITS.maxModelNameLength) fail('model name must be 1–256 bytes');
  if (byteLength(h.modelVersion) < 1 || byteLength(h.modelVersion) > LIMITS.maxModelVersionLength)
    fail('model version must be 1–128 bytes');
  for (const [what, text] of [
    ['model name', h.modelName],
    ['model version', h.modelVersion],
  ] as const) {
    const problem = textProblem(text);
    if (problem) fail(`${what} ${JSON.stringify(text)} ${problem}`);
  }
  if (!FORMATS.includes(h.format)) fail(`unknown model format ${JSON.stringify(h.format)}`);
  if (h.segmentSize < LIMITS.minSegmentSize || h.segmentSize > LIMITS.maxSegmentSize || !Number.isInteger(h.segmentSize)) {
    fail(`segment size must be an integer in [${LIMITS.minSegmentSize}, ${LIMITS.maxSegmentSize}]`);
  }
  if (h.entries.length < 1 || h.entries.length > LIMITS.maxEntries) fail(`a container holds 1–${LIMITS.maxEntries} entries`);
  checkEntries(h.entries, (_check, message) => fail(message));
  for (const entry of h.entries) {
    if (byteLength(entry.name) > LIMITS.maxEntryNameLength) fail(`entry name too long: ${entry.name}`);
    if (!Number.isSafeInteger(entry.size) || entry.size < 0) fail(`bad size for entry ${entry.name}`);
  }
  if (h.stanzas.length < 1 || h.stanzas.length > LIMITS.maxRecipients) fail(`a container has 1–${LIMITS.maxRecipients} recipient stanzas`);
  for (const stanza of h.stanzas) {
    if (!STANZA_TYPE.test(stanza.type) || stanza.type.length > LIMITS.maxStanzaTypeLength)
      fail(`bad stanza type ${JSON.stringify(stanza.type)}`);
    if (stanza.args.length > LIMITS.maxStanzaArgs) fail(`stanza ${stanza.type} has too many arguments`);
    if (stanza.args.some((arg) => byteLength(arg) > LIMITS.maxStanzaArgLength))
      fail(`stanza ${stanza.type} has an argument that is too long`);
    if (stanza.args.some((arg) => textProblem(arg)))
      fail(`a stanza argument of ${stanza.type} contains a control or bidirectional formatting character`);
    if (stanza.body.length > LIMITS.maxStanzaBodyLength) fail(`stanza ${stanza.type} body is too large`);
  }
}

/** Header length in bytes for these fields (MAC included). */
export function headerLengthOf(h: HeaderFields): number {
  const w = new ByteWriter();
  writeCore(w, h);
  writeSignature(w, h.signature);
  writeStanzas(w, h.stanzas);
  return PREAMBLE_LENGTH + w.size + MAC_LENGTH;
}

/**
 * Encodes the header up to (not including) the MAC. The caller appends
 * HMAC(macKey, result). `payloadOffset` is where the payload starts (≥ header length).
 */
export function encodeHeaderWithoutMac(h: HeaderFields, payloadOffset: number): Uint8Array {
  validateFields(h);
  return encodeHeaderUnchecked(h, payloadOffset);
}

/** The same bytes without the field rules (limits still apply): for test vectors of bad headers. */
export function encodeHeaderUnchecked(h: HeaderFields, payloadOffset: number): Uint8Array {
  const body = new ByteWriter();
  writeCore(body, h);
  writeSignature(body, h.signature);
  writeStanzas(body, h.stanzas);
  const headerLength = PREAMBLE_LENGTH + body.size + MAC_LENGTH;
  if (headerLength > LIMITS.maxHeaderLength) throw new LimitExceededError('header length', headerLength, LIMITS.maxHeaderLength);
  if (payloadOffset < headerLength || payloadOffset > LIMITS.maxPayloadOffset) {
    throw new InvalidArgumentError(`payload offset ${payloadOffset} cannot hold a ${headerLength}-byte header`);
  }
  const w = new ByteWriter().bytes(MAGIC).u16(FORMAT_VERSION).u32(headerLength).u32(payloadOffset);
  return w.bytes(body.finish()).finish();
}

// ---------------------------------------------------------------------------------------------
// Parsing (hostile input)

export interface Preamble {
  readonly version: number;
  readonly headerLength: number;
  readonly payloadOffset: number;
}

/**
 * Checks the magic, the version and the two lengths before the rest of the header is read, in
 * that order (docs/FORMAT.md §9: the first failure is the one reported).
 */
export function parsePreamble(bytes: Uint8Array): Preamble {
  if (bytes.length < PREAMBLE_LENGTH) throw new MalformedHeaderError('the input is too short to be an ovseal container');
  if (MAGIC.some((byte, i) => bytes[i] !== byte)) refuse('R-PRE-2', () => new MalformedHeaderError('not an ovseal container (bad magic)'));
  const r = new ByteReader(bytes.subarray(MAGIC.length, PREAMBLE_LENGTH));
  const version = r.u16('version');
  if (version !== FORMAT_VERSION) refuse('R-PRE-3', () => new UnsupportedVersionError(version));
  const headerLength = r.u32('header length');
  const payloadOffset = r.u32('payload offset');
  if (headerLength > LIMITS.maxHeaderLength)
    refuse('R-PRE-4', () => new LimitExceededError('header length', headerLength, LIMITS.maxHeaderLength));
  // R-PRE-5: shorter than a preamble and a MAC, no field fits (not a check the seam can leave out:
  // the fields would run past the end anyway, R-HDR-1).
  if (headerLength < PREAMBLE_LENGTH + MAC_LENGTH) throw new MalformedHeaderError('header length is too small');
  if (payloadOffset > LIMITS.maxPayloadOffset)
    refuse('R-PRE-6', () => new LimitExceededError('payload offset', payloadOffset, LIMITS.maxPayloadOffset));
  if (payloadOffset < headerLength) refuse('R-PRE-7', () => new MalformedHeaderError('payload offset lies inside the header'));
  return { version, headerLength, payloadOffset };
}

/** A str16 text field, refused when it holds characters unsafe to show (docs/FORMAT.md §3.2). */
function readText(r: ByteReader, what: string, limit: LengthLimit, emptyCheck?: ReaderCheck): string {
  const text = r.string(2, what, limit);
  if (emptyCheck && text.length === 0) refuse(emptyCheck, () => new MalformedHeaderError(`${what} is empty`));
  const problem = textProblem(text);
  if (problem) refuse('R-TEXT-1', () => new MalformedHeaderError(`${what} ${problem}`));
  return text;
}

function readRole(r: ByteReader): EntryRole {
  const code = r.u8('entry role');
  const role = ROLES_BY_CODE.get(code);
  if (role) return role;
  refuse('R-ENT-4', () => new MalformedHeaderError(`unknown entry role ${code}`));
  return 'aux';
}

function readCore(r: ByteReader) {
  const containerId = r.bytesView(16, 'container id');
  const salt = r.bytesView(32, 'salt');
  const commitment = r.bytesView(32, 'key commitment');
  const segmentSize = r.u32('segment size');
  if (segmentSize > LIMITS.maxSegmentSize)
    refuse('R-SEG-1', () => new LimitExceededError('segment size', segmentSize, LIMITS.maxSegmentSize));
  if (segmentSize < LIMITS.minSegmentSize)
    refuse('R-SEG-2', () => new MalformedHeaderError(`segment size ${segmentSize} is below the minimum of ${LIMITS.minSegmentSize}`));
  const payloadDigest = r.bytesView(32, 'payload digest');
  const createdAt = r.u64('creation time', 'R-TIME-1');
  const notAfter = r.u64('not-after time', 'R-TIME-1');
  const modelName = readText(r, 'model name', { max: LIMITS.maxModelNameLength, check: 'R-META-1' }, 'R-META-2');
  const modelVersion = readText(r, 'model version', { max: LIMITS.maxModelVersionLength, check: 'R-META-3' }, 'R-META-4');
  const format = r.string(1, 'model format') as ModelFormat;
  if (!FORMATS.includes(format)) refuse('R-FMT-1', () => new MalformedHeaderError(`unknown model format ${JSON.stringify(format)}`));
  const entryCount = r.u16('entry count');
  if (entryCount > LIMITS.maxEntries) refuse('R-ENT-1', () => new LimitExceededError('entry count', entryCount, LIMITS.maxEntries));
  if (entryCount === 0) refuse('R-ENT-2', () => new MalformedHeaderError('the container has no entries'));
  const entries: HeaderEntry[] = [];
  for (let i = 0; i < entryCount; i++) {
    const name = r.string(2, 'entry name', { max: LIMITS.maxEntryNameLength, check: 'R-ENT-3' });
    entries.push({ name, role: readRole(r), size: r.u64('entry size', 'R-ENT-5') });
  }
  checkEntries(entries, (check, message) => refuse(check, () => new MalformedHeaderError(message)));
  return { containerId, salt, commitment, segmentSize, payloadDigest, createdAt, notAfter, modelName, modelVersion, format, entries };
}

function readSignature(r: ByteReader): HeaderSignature | null {
  const code = r.u8('signature algorithm');
  if (code === 0) return null;
  const entry = Object.entries(SIGNATURE_LAYOUT).find(([, layout]) => layout.code === code);
  if (!entry) {
    refuse('R-SIG-1', () => new MalformedHeaderError(`unknown signature algorithm ${code}`));
    return null;
  }
  const [algorithm, layout] = entry as [SignatureAlgorithm, (typeof SIGNATURE_LAYOUT)[SignatureAlgorithm]];
  return {
    algorithm,
    publicKey: r.bytesView(layout.publicKey, 'signature public key'),
    signature: r.bytesView(layout.signature, 'signature'),
  };
}

function readStanzas(r: ByteReader): Stanza[] {
  const count = r.u16('recipient count');
  if (count > LIMITS.maxRecipients) refuse('R-STZ-1', () => new LimitExceededError('recipient count', count, LIMITS.maxRecipients));
  if (count === 0) refuse('R-STZ-2', () => new MalformedHeaderError('the container has no recipients'));
  const stanzas: Stanza[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.string(1, 'stanza type', { max: LIMITS.maxStanzaTypeLength, check: 'R-STZ-3' });
    if (!STANZA_TYPE.test(type)) refuse('R-STZ-4', () => new MalformedHeaderError(`bad stanza type ${JSON.stringify(type)}`));
    const argCount = r.u8('stanza argument count');
    if (argCount > LIMITS.maxStanzaArgs)
      refuse('R-STZ-5', () => new LimitExceededError('stanza argument count', argCount, LIMITS.maxStanzaArgs));
    const args: string[] = [];
    for (let j = 0; j < argCount; j++) args.push(readText(r, 'stanza argument', { max: LIMITS.maxStanzaArgLength, check: 'R-STZ-6' }));
    const bodyLength = r.u32('stanza body length');
    if (bodyLength > LIMITS.maxStanzaBodyLength)
      refuse('R-STZ-7', () => new LimitExceededError('stanza body length', bodyLength, LIMITS.maxStanzaBodyLength));
    stanzas.push({ type, args, body: Uint8Array.from(r.bytesView(bodyLength, 'stanza body')) });
  }
  return stanzas;
}

/** Parses a whole header (`bytes.length` must equal the preamble's header length). */
export function parseHeader(bytes: Uint8Array): ParsedHeader {
  const { headerLength, payloadOffset } = parsePreamble(bytes);
  if (bytes.length !== headerLength) throw new MalformedHeaderError('header length mismatch');
  const r = new ByteReader(bytes.subarray(PREAMBLE_LENGTH, headerLength - MAC_LENGTH));
  const coreStart = PREAMBLE_LENGTH;
  const core = readCore(r);
  const coreEnd = PREAMBLE_LENGTH + r.position;
  const signature = readSignature(r);
  const stanzas = readStanzas(r);
  if (r.remaining !== 0) refuse('R-HDR-2', () => new MalformedHeaderError('unexpected bytes after the recipient stanzas'));
  return {
    ...core,
    signature,
    stanzas,
    headerLength,
    payloadOffset,
    macInput: bytes.subarray(0, headerLength - MAC_LENGTH),
    mac: bytes.subarray(headerLength - MAC_LENGTH),
    core: bytes.subarray(coreStart, coreEnd),
  };
}
