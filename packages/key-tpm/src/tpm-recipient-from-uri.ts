import { InvalidArgumentError, type Recipient } from '@ovseal/container';
import { parseUri, rejectUnknownParams, timeoutParam } from './lib/uri.js';
import { TpmEcdhRecipient } from './tpm-ecdh-recipient.js';
import { TpmRsaRecipient } from './tpm-rsa-recipient.js';
import { TpmSealRecipient } from './tpm-seal-recipient.js';
import type { TpmOptions } from './types.js';

/**
 * Builds a recipient from its URI (the CLI's `--recipient`):
 *
 * - `tpm-ecdh:KEY` / `tpm-rsa:KEY`: a device's public key — a PEM or DER file path, base64 SPKI DER
 *   (what `ovseal tpm init` prints), or PEM text. No TPM is needed to wrap.
 * - `tpm-seal:[PCRS][?parent=owner|0x81000001&tcti=…&timeout=MS]`: seal to this machine's TPM and
 *   boot state, e.g. `tpm-seal:sha256:0,7?parent=0x81000001`. PCRS defaults to `sha256:0,7`.
 *
 * `options` supply defaults (TCTI, timeout) that the URI's parameters override.
 *
 * @example
 * ```ts
 * const recipient = tpmRecipientFromUri('tpm-ecdh:/etc/ovseal/devices/cam-17.pem');
 * ```
 */
export function tpmRecipientFromUri(uri: string, options: TpmOptions = {}): Recipient {
  const parsed = parseUri(uri, ['tpm-ecdh', 'tpm-rsa', 'tpm-seal']);
  if (parsed.scheme === 'tpm-seal') {
    rejectUnknownParams(parsed, ['parent', 'tcti', 'timeout']);
    const tcti = parsed.params.get('tcti') ?? options.tcti;
    const parent = parsed.params.get('parent');
    return new TpmSealRecipient({
      ...options,
      ...(tcti === undefined ? {} : { tcti }),
      ...timeoutParam(parsed),
      ...(parsed.head ? { pcrs: parsed.head } : {}),
      ...(parent === undefined ? {} : { parent }),
    });
  }
  // A key may be base64 (with '=' padding) or a path: take everything after the scheme as it is.
  const key = uri.slice(parsed.scheme.length + 1);
  if (!key) throw new InvalidArgumentError(`${parsed.scheme}: needs a public key (PEM file or base64 SPKI)`);
  return parsed.scheme === 'tpm-ecdh' ? new TpmEcdhRecipient(key) : new TpmRsaRecipient(key);
}
