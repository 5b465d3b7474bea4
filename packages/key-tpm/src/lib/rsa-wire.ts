import { constants, createHash, publicEncrypt, type KeyObject } from 'node:crypto';
import type { Stanza, WrapContext } from '@ovseal/container';

/**
 * `tpm-rsa` stanza:
 *   args = [key id]
 *   body = RSA-OAEP-SHA-256(device key, data key, label = L)
 *   L    = "ovseal1:" ‖ base64url(SHA-256("ovseal/v1 tpm-rsa label\n" ‖ ctx.aad))[0..24)
 * The label binds the wrap to the container: OAEP decoding fails inside the TPM under any other
 * context. It is 32 printable characters because the TPM appends a NUL to the label and caps
 * TPM2B_DATA at the size of its largest digest (34 bytes on a SHA-256-only TPM).
 */
export const RSA_STANZA_TYPE = 'tpm-rsa';

export function oaepLabel(context: WrapContext): string {
  const digest = createHash('sha256').update('ovseal/v1 tpm-rsa label\n').update(context.aad).digest();
  return `ovseal1:${digest.subarray(0, 18).toString('base64url')}`;
}

export function wrapRsa(device: KeyObject, keyId: string, dataKey: Uint8Array, context: WrapContext): Stanza {
  const body = publicEncrypt(
    {
      key: device,
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha256',
      // The TPM uses the label with its terminating NUL (TPM 2.0 Part 1, §B.4).
      oaepLabel: Buffer.from(`${oaepLabel(context)}\0`, 'latin1'),
    },
    dataKey,
  );
  return { type: RSA_STANZA_TYPE, args: [keyId], body };
}
