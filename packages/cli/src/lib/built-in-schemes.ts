import { KeySchemeRegistry } from './key-schemes.js';

/**
 * Keys read from environment variables, by name: reading one removes it from the environment (no
 * child process inherits it), and one command may name the same `env:` key twice (`-i env:K
 * --remove env:K`).
 */
const envKeys = new Map<string, Uint8Array>();

async function envKey(name: string): Promise<Uint8Array> {
  let key = envKeys.get(name);
  if (key === undefined) {
    const { readEnvKey } = await import('@ovseal/key-file');
    key = readEnvKey(name);
    envKeys.set(name, key);
  }
  return key;
}

const rest = (uri: string) => uri.slice(uri.indexOf(':') + 1);

/**
 * The providers of this repository, by URI scheme (packages/cli/README.md, "Key URIs"):
 *   file:PATH            key-encryption key in a file (ovseal keygen)
 *   env:NAME             key-encryption key in an environment variable
 *   aws-kms:ARN|alias/N  AWS KMS key (endpoint and credentials from the AWS SDK's usual settings)
 *   tpm-ecdh:PEM|FILE    a device's TPM-resident key (recipient: its public key)
 *   tpm-rsa:PEM|FILE     the same with RSA-OAEP
 *   tpm-seal:…, tpm:…    TPM sealing and TPM identities (see @ovseal/key-tpm)
 *   pkcs11:…             a key in a PKCS#11 token or HSM (RFC 7512 URI, see @ovseal/key-pkcs11)
 */
export function builtInSchemes(registry = new KeySchemeRegistry()): KeySchemeRegistry {
  return registry
    .register(['file'], {
      source: '@ovseal/key-file',
      recipient: async (uri) => (await import('@ovseal/key-file')).FileRecipient.fromFile(rest(uri)),
      identity: async (uri) => (await import('@ovseal/key-file')).FileIdentity.fromFile(rest(uri)),
    })
    .register(['env'], {
      source: '@ovseal/key-file',
      recipient: async (uri) => new (await import('@ovseal/key-file')).EnvRecipient(await envKey(rest(uri))),
      identity: async (uri) => new (await import('@ovseal/key-file')).EnvIdentity(await envKey(rest(uri))),
    })
    .register(['aws-kms'], {
      source: '@ovseal/key-kms',
      recipient: async (uri) => (await import('@ovseal/key-kms')).kmsRecipientFromUri(uri),
      identity: async (uri) => (await import('@ovseal/key-kms')).kmsIdentityFromUri(uri),
    })
    .register(['tpm-ecdh', 'tpm-rsa', 'tpm-seal'], {
      source: '@ovseal/key-tpm',
      recipient: async (uri) => (await import('@ovseal/key-tpm')).tpmRecipientFromUri(uri),
      identity: async (uri) => (await import('@ovseal/key-tpm')).tpmIdentityFromUri(uri),
    })
    .register(['tpm'], {
      source: '@ovseal/key-tpm',
      identity: async (uri) => (await import('@ovseal/key-tpm')).tpmIdentityFromUri(uri),
    })
    .register(['pkcs11'], {
      source: '@ovseal/key-pkcs11',
      recipient: async (uri) => (await import('@ovseal/key-pkcs11')).Pkcs11Recipient.open(uri),
      identity: async (uri) => (await import('@ovseal/key-pkcs11')).Pkcs11Identity.fromUri(uri),
    });
}
