import { LimitExceededError, MalformedHeaderError } from '../../errors.js';
import { fromUtf8 } from '../util/bytes.js';
import { refuse, type ReaderCheck } from './reader-checks.js';

/** The largest value a length field may hold, and the rule (docs/FORMAT.md) that says so. */
export interface LengthLimit {
  readonly max: number;
  readonly check: ReaderCheck;
}

const lossyDecoder = new TextDecoder('utf-8');

/** Bounds-checked big-endian reader: every read past the end is a MalformedHeaderError. */
export class ByteReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(length: number, what: string): void {
    if (length > this.remaining) throw new MalformedHeaderError(`${what} runs past the end of the header`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  /** u64 that must be at most 2^53 − 1 (`check` names the rule that says so). */
  u64(what: string, check: ReaderCheck): number {
    this.need(8, what);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) refuse(check, () => new MalformedHeaderError(`${what} is larger than 2^53 − 1`));
    return Number(value);
  }

  /** A view (no copy) of the next `length` bytes. */
  bytesView(length: number, what: string): Uint8Array {
    this.need(length, what);
    const out = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  /** A length-prefixed UTF-8 string; the limit is checked before the bytes are touched. */
  string(prefix: 1 | 2, what: string, limit?: LengthLimit): string {
    const length = prefix === 1 ? this.u8(what) : this.u16(what);
    if (limit && length > limit.max) refuse(limit.check, () => new LimitExceededError(`${what} length`, length, limit.max));
    const raw = this.bytesView(length, what);
    try {
      return fromUtf8(raw);
    } catch {
      refuse('R-UTF8-1', () => new MalformedHeaderError(`${what} is not valid UTF-8`));
      return lossyDecoder.decode(raw);
    }
  }
}

/** Growable big-endian writer used to encode headers. */
export class ByteWriter {
  private chunks: number[] = [];
  private parts: Uint8Array[] = [];
  private length = 0;

  private flushScalars(): void {
    if (this.chunks.length > 0) {
      this.parts.push(Uint8Array.from(this.chunks));
      this.chunks = [];
    }
  }

  get size(): number {
    return this.length;
  }

  u8(value: number): this {
    this.chunks.push(value & 0xff);
    this.length += 1;
    return this;
  }

  u16(value: number): this {
    return this.u8(value >>> 8).u8(value);
  }

  u32(value: number): this {
    return this.u16(value >>> 16).u16(value & 0xffff);
  }

  u64(value: number): this {
    const high = Math.floor(value / 2 ** 32);
    return this.u32(high).u32(value >>> 0);
  }

  bytes(value: Uint8Array): this {
    this.flushScalars();
    this.parts.push(value);
    this.length += value.length;
    return this;
  }

  string(prefix: 1 | 2, value: string): this {
    const encoded = new TextEncoder().encode(value);
    if (prefix === 1) this.u8(encoded.length);
    else this.u16(encoded.length);
    return this.bytes(encoded);
  }

  finish(): Uint8Array {
    this.flushScalars();
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}
