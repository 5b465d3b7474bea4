import type { Identity, Recipient, Stanza } from '@ovseal/container';
import { UsageError } from './output.js';

/**
 * Recipient and identity URIs (packages/cli/README.md):
 *   file:PATH            key-encryption key in a file (ovseal keygen)
 *   env:NAME             key-encryption key in an environment variable
 *   aws-kms:ARN|alias/N  AWS KMS key (endpoint and credentials from the AWS SDK's usual settings)
 *   tpm-ecdh:PEM|FILE    a device's TPM-resident key (recipient: its public key)
 *   tpm-rsa:PEM|FILE     the same with RSA-OAEP
 *   tpm-seal:…, tpm:…    TPM sealing and TPM identities (see @ovseal/key-tpm)
 *   pkcs11:…             a key in a PKCS#11 token or HSM (RFC 7512 URI, see @ovseal/key-pkcs11)
 * Provider packages are imported only when their scheme is used, so `ovseal` starts fast and a
 * missing optional provider is reported clearly.
 */

function split(uri: string): { scheme: string; rest: string } {
  const colon = uri.indexOf(':');
  if (colon <= 0) throw new UsageError(`${JSON.stringify(uri)} is not a key URI`, 'use file:PATH, env:NAME, aws-kms:ARN, tpm-ecdh:PUBKEY, …');
  return { scheme: uri.slice(0, colon), rest: uri.slice(colon + 1) };
}

function unknownScheme(scheme: string): never {
  throw new UsageError(`unknown key URI scheme ${JSON.stringify(scheme)}`, 'use file:PATH, env:NAME, aws-kms:…, tpm-ecdh:…, tpm-rsa:…, tpm-seal:…, tpm:… or pkcs11:…');
}

/**
 * Keys read from environment variables, by name: reading one removes it from the environment (no
 * child process inherits it), and one command may name the same `env:` key twice (`-i env:K
 * --remove env:K`).
 */
const envKeys = new Map<string, Uint8Array>();

async function envKey(name: string): Promise<Uint8Array> {
  let key = envKeys.get(name);
  if (key === undefined) {
    const { readEnvKey } = await import('@ovseal/key-env');
    key = readEnvKey(name);
    envKeys.set(name, key);
  }
  return key;
}

export async function recipientFromUri(uri: string): Promise<Recipient> {
  const { scheme, rest } = split(uri);
  switch (scheme) {
    case 'file': {
      const { FileRecipient } = await import('@ovseal/key-file');
      return FileRecipient.fromFile(rest);
    }
    case 'env': {
      const { EnvRecipient } = await import('@ovseal/key-env');
      return new EnvRecipient(await envKey(rest));
    }
    case 'aws-kms': {
      const kms = await import('@ovseal/key-kms');
      return kms.kmsRecipientFromUri(uri);
    }
    case 'tpm-ecdh':
    case 'tpm-rsa':
    case 'tpm-seal': {
      const tpm = await import('@ovseal/key-tpm');
      return tpm.tpmRecipientFromUri(uri);
    }
    case 'pkcs11': {
      const { Pkcs11Recipient } = await import('@ovseal/key-pkcs11');
      return Pkcs11Recipient.open(uri);
    }
    default:
      return unknownScheme(scheme);
  }
}

export async function identityFromUri(uri: string): Promise<Identity> {
  const { scheme, rest } = split(uri);
  switch (scheme) {
    case 'file': {
      const { FileIdentity } = await import('@ovseal/key-file');
      return FileIdentity.fromFile(rest);
    }
    case 'env': {
      const { EnvIdentity } = await import('@ovseal/key-env');
      return new EnvIdentity(await envKey(rest));
    }
    case 'aws-kms': {
      const kms = await import('@ovseal/key-kms');
      return kms.kmsIdentityFromUri(uri);
    }
    case 'tpm':
    case 'tpm-ecdh':
    case 'tpm-rsa':
    case 'tpm-seal': {
      const tpm = await import('@ovseal/key-tpm');
      return tpm.tpmIdentityFromUri(uri);
    }
    case 'pkcs11': {
      const { Pkcs11Identity } = await import('@ovseal/key-pkcs11');
      return Pkcs11Identity.fromUri(uri);
    }
    default:
      return unknownScheme(scheme);
  }
}

/**
 * `rewrap --remove URI`: the stanzas made by that recipient. A bare stanza type (`--remove file`)
 * removes every stanza of that type.
 */
export async function stanzaSelector(uri: string): Promise<(stanza: Stanza) => boolean> {
  if (!uri.includes(':')) return (stanza) => stanza.type === uri;
  const recipient = await recipientFromUri(uri);
  const describes = recipient.describes?.bind(recipient);
  if (!describes) throw new UsageError(`cannot tell which stanzas ${uri} made`, 'remove by stanza type instead, e.g. --remove aws-kms');
  return describes;
}
