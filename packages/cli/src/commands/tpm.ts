import { parse } from '../lib/args.js';
import { printJson, say, UsageError, type Io } from '../lib/output.js';

export const tpmHelp = `Usage: ovseal tpm init [--type tpm-ecdh|tpm-rsa] [--handle 0x81000100 | --key-dir DIR]
                       [--pcrs sha256:0,7] [--parent owner|0x81000001] [--tcti TCTI] [--replace] [--json]

Creates this device's key inside the TPM (non-exportable; optionally bound to the current PCR
values) and prints its public key, its key id (fingerprint), the recipient URI to seal to it
(anyone can, without a TPM), and the identity URI to open containers on this device.
The TCTI defaults to $TPM2TOOLS_TCTI (e.g. swtpm:host=127.0.0.1,port=2321 or device:/dev/tpmrm0).`;

export async function tpm(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'init')
    throw new UsageError(sub ? `unknown tpm command ${JSON.stringify(sub)}` : 'missing tpm command', 'ovseal tpm init --type tpm-ecdh');
  const { values } = parse(rest, {
    type: { type: 'string' },
    handle: { type: 'string' },
    'key-dir': { type: 'string' },
    pcrs: { type: 'string' },
    parent: { type: 'string' },
    tcti: { type: 'string' },
    replace: { type: 'boolean' },
  });
  const type = values.type ?? 'tpm-ecdh';
  if (type !== 'tpm-ecdh' && type !== 'tpm-rsa') throw new UsageError(`unknown device key type ${type}`, 'use tpm-ecdh or tpm-rsa');
  if (values.handle && values['key-dir']) throw new UsageError('give --handle or --key-dir, not both');
  const { initDeviceKey } = await import('@ovseal/key-tpm');
  const key = await initDeviceKey({
    type,
    ...(values.handle ? { handle: values.handle } : {}),
    ...(values['key-dir'] ? { keyDir: values['key-dir'] } : {}),
    ...(values.pcrs ? { pcrs: values.pcrs } : {}),
    ...(values.parent ? { parent: values.parent } : {}),
    ...(values.tcti ? { tcti: values.tcti } : {}),
    replace: values.replace === true,
  });
  if (values.json) {
    printJson(io, { ok: true, ...key });
    return 0;
  }
  io.stdout.write(key.publicKeyPem.endsWith('\n') ? key.publicKeyPem : `${key.publicKeyPem}\n`);
  say(io, `created ${key.type} device key ${key.keyId}${key.pcrs ? ` bound to PCRs ${key.pcrs}` : ''} at ${key.handle ?? key.keyDir}`);
  say(
    io,
    `recipient (give it to the sealer or the key broker): ${key.recipientUri.length > 80 ? `${key.type}:<the public key above>` : key.recipientUri}`,
  );
  say(io, `identity (for ovseal open / the loader on this device): ${key.identityUri}`);
  return 0;
}
