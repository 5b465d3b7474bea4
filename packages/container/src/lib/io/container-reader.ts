import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InvalidArgumentError, IoError, MalformedHeaderError, OvsealError, TruncatedError } from '../../errors.js';
import { raceAbort } from '../util/abort.js';
import { refuse } from '../format/reader-checks.js';
import { parseHeader, parsePreamble, PREAMBLE_LENGTH, type ParsedHeader } from '../format/header-codec.js';

/** Where a container is read from: a file path, bytes in memory, or a stream of chunks. */
export type ContainerSource = string | Uint8Array | AsyncIterable<Uint8Array>;

/** A source that can be read at any offset (a file or bytes). */
export interface RandomReader {
  readonly kind: 'random';
  readonly size: number;
  /** Set for files, so workers can open the file themselves. */
  readonly filePath?: string;
  /** Set for files: the open descriptor, for reads off the calling thread. */
  readonly fd?: number;
  /** Exactly `length` bytes at `position`, or a TruncatedError. */
  read(position: number, length: number): Uint8Array;
  close(): void;
}

/** A source read front to back once (a stream). */
export interface SequentialReader {
  readonly kind: 'sequential';
  /** Exactly `length` bytes, or a TruncatedError. */
  read(length: number): Promise<Uint8Array>;
  /** Fills `into` with the next bytes, copied straight from the chunks (no concatenation), or a TruncatedError. */
  readInto(into: Uint8Array): Promise<void>;
  /** Throws a TruncatedError if any byte is left. */
  expectEnd(): Promise<void>;
  close(): void;
}

export type Reader = RandomReader | SequentialReader;

function fileReader(path: string): RandomReader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw new IoError(`cannot open ${path}: ${(cause as Error).message}`, { cause });
  }
  const size = fstatSync(fd).size;
  return {
    kind: 'random',
    size,
    filePath: path,
    fd,
    read(position, length) {
      if (position + length > size) throw new TruncatedError(`needs ${position + length} bytes, the file has ${size}`);
      const out = Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, position + done);
        if (n === 0) throw new TruncatedError('the file shrank while it was read');
        done += n;
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}

function bytesReader(bytes: Uint8Array): RandomReader {
  return {
    kind: 'random',
    size: bytes.length,
    read(position, length) {
      if (position + length > bytes.length) throw new TruncatedError(`needs ${position + length} bytes, the input has ${bytes.length}`);
      return bytes.subarray(position, position + length);
    },
    close() {},
  };
}

function streamReader(stream: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): SequentialReader {
  const iterator = stream[Symbol.asyncIterator]();
  let pending: Uint8Array = new Uint8Array(0);
  let finished = false;

  async function pull(): Promise<boolean> {
    if (finished) return false;
    let next: IteratorResult<Uint8Array>;
    try {
      next = await raceAbort(iterator.next(), signal);
    } catch (cause) {
      if (cause instanceof OvsealError) throw cause;
      throw new IoError(`reading the container stream failed: ${(cause as Error).message}`, { cause });
    }
    if (next.done) {
      finished = true;
      return false;
    }
    const chunk: unknown = next.value;
    // A stream with an encoding set yields strings: decoding re-encoded them, the bytes are lost.
    if (!(chunk instanceof Uint8Array))
      throw new InvalidArgumentError('a container stream must yield bytes (Uint8Array or Buffer), not text or objects');
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    return true;
  }

  return {
    kind: 'sequential',
    async read(length) {
      while (pending.length < length) {
        if (!(await pull())) throw new TruncatedError(`the stream ended ${length - pending.length} bytes early`);
      }
      const out = pending.subarray(0, length);
      pending = pending.subarray(length);
      return out;
    },
    async readInto(into) {
      for (let done = 0; done < into.length;) {
        if (pending.length === 0 && !(await pull())) throw new TruncatedError(`the stream ended ${into.length - done} bytes early`);
        const n = Math.min(pending.length, into.length - done);
        into.set(pending.subarray(0, n), done);
        pending = pending.subarray(n);
        done += n;
      }
    },
    async expectEnd() {
      if (pending.length > 0 || (await pull())) throw new TruncatedError('unexpected bytes after the payload');
    },
    close() {
      // Ends the source (a file stream closes its descriptor); its own failure to end is not ours.
      Promise.resolve(iterator.return?.()).catch(() => undefined);
    },
  };
}

/** A reader over a source; a stream's reads also end when `signal` fires. */
export function openReader(source: ContainerSource, signal?: AbortSignal): Reader {
  if (typeof source === 'string') return fileReader(source);
  if (source instanceof Uint8Array) return bytesReader(source);
  if (source && typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') return streamReader(source, signal);
  throw new InvalidArgumentError('a container source is a file path, a Uint8Array or an async iterable of chunks');
}

async function readAt(reader: Reader, position: number, length: number): Promise<Uint8Array> {
  return reader.kind === 'random' ? reader.read(position, length) : reader.read(length);
}

/**
 * Reads and parses the header, and checks that the padding before the payload is all zero (the
 * padding is not covered by the MAC, so it must carry nothing).
 */
export async function readHeader(reader: Reader): Promise<ParsedHeader> {
  const preambleBytes = await readPreamble(reader);
  const preamble = parsePreamble(preambleBytes);
  const rest = await readAt(reader, PREAMBLE_LENGTH, preamble.headerLength - PREAMBLE_LENGTH);
  const whole = new Uint8Array(preamble.headerLength);
  whole.set(preambleBytes, 0);
  whole.set(rest, PREAMBLE_LENGTH);
  const header = parseHeader(whole);
  const padding = await readAt(reader, header.headerLength, Math.max(0, header.payloadOffset - header.headerLength));
  if (padding.some((byte) => byte !== 0)) refuse('R-HDR-3', () => new MalformedHeaderError('non-zero padding after the header'));
  return header;
}

/** The first 16 bytes; an input shorter than that is not a container (malformed), not a truncated one. */
async function readPreamble(reader: Reader): Promise<Uint8Array> {
  const tooShort = () => new MalformedHeaderError('the input is too short to be an ovseal container');
  if (reader.kind === 'random') {
    if (reader.size < PREAMBLE_LENGTH) refuse('R-PRE-1', tooShort);
    return reader.read(0, PREAMBLE_LENGTH);
  }
  try {
    return await reader.read(PREAMBLE_LENGTH);
  } catch (error) {
    if (error instanceof TruncatedError) refuse('R-PRE-1', tooShort);
    throw error;
  }
}

/** Reads just the header of a source and closes it. */
export async function readHeaderOnly(source: ContainerSource): Promise<{ header: ParsedHeader; size: number | null }> {
  const reader = openReader(source);
  try {
    const header = await readHeader(reader);
    return { header, size: reader.kind === 'random' ? reader.size : null };
  } finally {
    reader.close();
  }
}
