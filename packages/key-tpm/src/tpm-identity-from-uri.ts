import { InvalidArgumentError, type Identity } from '@ovseal/container';
import { DeviceKey, type DeviceKeySource } from './lib/device-key.js';
import { parseUri, rejectUnknownParams, timeoutParam } from './lib/uri.js';
import { TpmEcdhIdentity } from './tpm-ecdh-identity.js';
import { TpmRsaIdentity } from './tpm-rsa-identity.js';
import { TpmSealIdentity } from './tpm-seal-identity.js';
import type { StorageParent, TpmOptions } from './types.js';

/** Options of {@link tpmIdentityFromUri}: defaults that the URI's parameters override. */
export interface TpmIdentityUriOptions extends TpmOptions {
  readonly pcrs?: string;
  readonly parent?: StorageParent;
}

/**
 * Builds an identity from its URI (the CLI's `--identity`):
 *
 * - `tpm:handle=0x81000100[?pcrs=sha256:0,7&tcti=…&timeout=MS]`: the device key at a persistent
 *   handle (its type, ECDH or RSA, is read from the TPM; `pcrs` is required if it has a PCR policy).
 * - `tpm:dir=/var/lib/ovseal/device-key[?tcti=…]` (or `tpm:/abs/path`): a device key directory.
 * - `tpm:seal[?parent=owner|0x81000001&tcti=…]`: unseals `tpm-seal` stanzas made on this TPM.
 *
 * @example
 * ```ts
 * const identity = await tpmIdentityFromUri('tpm:handle=0x81000100?tcti=swtpm:host=127.0.0.1,port=2321');
 * const model = await open('m.ovseal', { identities: [identity] });
 * ```
 */
export async function tpmIdentityFromUri(uri: string, options: TpmIdentityUriOptions = {}): Promise<Identity> {
  const parsed = parseUri(uri, ['tpm']);
  const tcti = parsed.params.get('tcti') ?? options.tcti;
  const base: TpmOptions = { ...options, ...(tcti === undefined ? {} : { tcti }), ...timeoutParam(parsed) };
  if (parsed.head === 'seal') {
    rejectUnknownParams(parsed, ['parent', 'tcti', 'timeout']);
    const parent = parsed.params.get('parent') ?? options.parent;
    return new TpmSealIdentity({ ...base, ...(parent === undefined ? {} : { parent }) });
  }
  rejectUnknownParams(parsed, ['pcrs', 'tcti', 'timeout']);
  let source: DeviceKeySource;
  if (parsed.head.startsWith('handle=')) source = { handle: parsed.head.slice('handle='.length) };
  else if (parsed.head.startsWith('dir=')) source = { keyDir: parsed.head.slice('dir='.length) };
  else if (parsed.head.startsWith('/') || parsed.head.startsWith('.')) source = { keyDir: parsed.head };
  else
    throw new InvalidArgumentError(`bad TPM identity ${JSON.stringify(uri)}`, {
      hint: 'use tpm:handle=0x81000100, tpm:dir=/path/to/key or tpm:seal',
    });
  const pcrs = parsed.params.get('pcrs') ?? options.pcrs;
  const device = await DeviceKey.open(source, { ...base, ...(pcrs === undefined ? {} : { pcrs }) });
  return device.type === 'tpm-ecdh' ? new TpmEcdhIdentity(device) : new TpmRsaIdentity(device);
}
