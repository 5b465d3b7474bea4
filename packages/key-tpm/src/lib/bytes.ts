/** Big-endian byte helpers for TPM structures and stanza bodies. */

export function u16(value: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(value);
  return out;
}

export function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/** `u16 length ‖ bytes`, the TPM2B shape (also used inside stanza bodies). */
export function sized16(bytes: Uint8Array): Buffer {
  if (bytes.length > 0xffff) throw new RangeError('field longer than 65535 bytes');
  return Buffer.concat([u16(bytes.length), bytes]);
}

/** Thrown by {@link ByteReader} when the input ends early or has trailing bytes. */
export class ShortInputError extends Error {}

/** A bounds-checked cursor over untrusted bytes. */
export class ByteReader {
  #offset = 0;
  readonly #bytes: Buffer;

  constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  bytes(length: number): Buffer {
    if (length > this.remaining) throw new ShortInputError(`needs ${length} bytes, has ${this.remaining}`);
    const out = this.#bytes.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return out;
  }

  u8(): number {
    return this.bytes(1).readUInt8();
  }

  u16(): number {
    return this.bytes(2).readUInt16BE();
  }

  u32(): number {
    return this.bytes(4).readUInt32BE();
  }

  sized16(): Buffer {
    return this.bytes(this.u16());
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  end(): void {
    if (this.remaining !== 0) throw new ShortInputError(`${this.remaining} trailing bytes`);
  }
}
