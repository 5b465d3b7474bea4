import { InvalidArgumentError } from './errors.js';

const SCALAR_LENGTH = 32;

function readInteger(der: Uint8Array, offset: number): { value: Uint8Array; next: number } {
  if (der[offset] !== 0x02) throw malformed('expected an INTEGER');
  const length = der[offset + 1];
  if (length === undefined || length === 0 || length > 0x7f) throw malformed('bad INTEGER length');
  const start = offset + 2;
  const end = start + length;
  if (end > der.length) throw malformed('INTEGER runs past the end');
  if (der[start]! & 0x80) throw malformed('negative INTEGER');
  let value = der.subarray(start, end);
  while (value.length > 1 && value[0] === 0) value = value.subarray(1);
  if (value.length > SCALAR_LENGTH) throw malformed('INTEGER longer than 32 bytes');
  return { value, next: end };
}

function malformed(reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`not a DER ECDSA P-256 signature: ${reason}`);
}

/**
 * Converts an ECDSA P-256 signature from DER (`SEQUENCE { r INTEGER, s INTEGER }`, as AWS KMS,
 * OpenSSL and some HSMs return it) to the 64-byte `r ‖ s` the container stores (docs/FORMAT.md
 * §3.3): each value unsigned, big-endian, left-padded with zeros to 32 bytes. `s` is passed on as
 * the signer gave it, high or low (readers accept both halves, docs/FORMAT.md R-SIG-5).
 *
 * @example
 * ```ts
 * const { Signature } = await kms.send(new SignCommand({ …, SigningAlgorithm: 'ECDSA_SHA_256' }));
 * const raw = ecdsaSignatureFromDer(Signature!); // 64 bytes
 * ```
 */
export function ecdsaSignatureFromDer(der: Uint8Array): Uint8Array {
  if (der.length < 8 || der[0] !== 0x30) throw malformed('expected a SEQUENCE');
  if (der[1] !== der.length - 2) throw malformed('SEQUENCE length does not match');
  const r = readInteger(der, 2);
  const s = readInteger(der, r.next);
  if (s.next !== der.length) throw malformed('bytes after the two INTEGERs');
  const raw = new Uint8Array(2 * SCALAR_LENGTH);
  raw.set(r.value, SCALAR_LENGTH - r.value.length);
  raw.set(s.value, 2 * SCALAR_LENGTH - s.value.length);
  return raw;
}
