/**
 * The length of the DER element at the start of `bytes` (tag, length, contents): NV indices may be
 * larger than the certificate they hold, and X.509 parsers refuse trailing bytes.
 */
export function derElementLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2) return undefined;
  const first = bytes[1]!;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || bytes.length < 2 + octets) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + bytes[2 + i]!;
  return 2 + octets + length <= bytes.length ? 2 + octets + length : undefined;
}
