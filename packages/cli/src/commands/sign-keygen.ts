import { writeFileAtomic } from '@ovseal/atomic-file';
import { generateSigningKey, type SignatureAlgorithm } from '@ovseal/container';
import { parse, requireOne } from '../lib/args.js';
import { printJson, say, UsageError, type Io } from '../lib/output.js';

export const signKeygenHelp = `Usage: ovseal sign-keygen -o KEYFILE [--algorithm ed25519|ecdsa-p256] [--json]

Creates a publisher signing key: KEYFILE (private, PKCS#8 PEM, mode 0600) and KEYFILE.pub
(public, SPKI PEM) to give to loaders as a trusted key.`;

export async function signKeygen(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, { out: { type: 'string', short: 'o' }, algorithm: { type: 'string' } });
  const out = requireOne(values.out, '-o KEYFILE', 'ovseal sign-keygen -o publisher.pem');
  const algorithm: string = values.algorithm ?? 'ed25519';
  if (!isSignatureAlgorithm(algorithm)) throw new UsageError(`unknown algorithm ${algorithm}`, 'use ed25519 or ecdsa-p256');
  const pair = generateSigningKey(algorithm);
  // Each file appears whole or not at all, and neither replaces an existing one.
  await writeFileAtomic(out, pair.privateKeyPem, { mode: 0o600, overwrite: false });
  await writeFileAtomic(`${out}.pub`, pair.publicKeyPem, { mode: 0o644, overwrite: false });
  if (values.json) printJson(io, { ok: true, algorithm, keyId: pair.keyId, privateKey: out, publicKey: `${out}.pub` });
  else say(io, `wrote ${algorithm} signing key ${pair.keyId.slice(0, 16)}… to ${out} (public key: ${out}.pub)`);
  return 0;
}

function isSignatureAlgorithm(name: string): name is SignatureAlgorithm {
  return name === 'ed25519' || name === 'ecdsa-p256';
}
