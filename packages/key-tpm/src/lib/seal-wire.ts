import type { WrapContext } from '@ovseal/container';
import { aeadOpen, aeadSeal, deriveWrapKey } from './aead.js';
import { ByteReader, ShortInputError, sized16 } from './bytes.js';

/**
 * `tpm-seal` stanza:
 *   args = [PCR selection ("sha256:0,7"), name of the storage parent (hex)]
 *   body = version (1) ‖ u16-sized PCR selection ‖ u16-sized TPM2B_PUBLIC ‖ u16-sized TPM2B_PRIVATE ‖ sealed
 *   sealed = AES-256-GCM(HKDF-SHA-256(s, info = "ovseal/v1 tpm-seal"), nonce 0, data key, aad = ctx.aad) ‖ tag
 * where `s` is 32 random bytes sealed in the TPM object (keyed-hash, fixedTPM, policy = PolicyPCR,
 * no userWithAuth: only a PCR policy session can unseal it). The parent name tells each TPM which
 * stanzas it can load without trying.
 */
export const SEAL_STANZA_TYPE = 'tpm-seal';
const VERSION = 1;
const INFO = 'ovseal/v1 tpm-seal';

export interface SealBody {
  readonly pcrs: string;
  readonly publicArea: Buffer;
  readonly privateArea: Buffer;
  readonly sealed: Buffer;
}

export function encodeSealBody(body: SealBody): Buffer {
  return Buffer.concat([
    Buffer.from([VERSION]),
    sized16(Buffer.from(body.pcrs, 'utf8')),
    sized16(body.publicArea),
    sized16(body.privateArea),
    body.sealed,
  ]);
}

export function parseSealBody(bytes: Uint8Array): SealBody | null {
  try {
    const r = new ByteReader(bytes);
    if (r.u8() !== VERSION) return null;
    const pcrs = r.sized16().toString('utf8');
    const publicArea = Buffer.from(r.sized16());
    const privateArea = Buffer.from(r.sized16());
    return { pcrs, publicArea, privateArea, sealed: Buffer.from(r.rest()) };
  } catch (error) {
    if (error instanceof ShortInputError) return null;
    throw error;
  }
}

export function sealDataKey(secret: Uint8Array, dataKey: Uint8Array, context: WrapContext): Buffer {
  const key = deriveWrapKey(secret, new Uint8Array(0), INFO);
  try {
    return aeadSeal(key, dataKey, context.aad);
  } finally {
    key.fill(0);
  }
}

export function openDataKey(secret: Uint8Array, sealed: Uint8Array, context: WrapContext): Buffer | null {
  const key = deriveWrapKey(secret, new Uint8Array(0), INFO);
  try {
    return aeadOpen(key, sealed, context.aad);
  } finally {
    key.fill(0);
  }
}
