import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '../../errors.js';
import type { SignatureAlgorithm, SignatureInfo } from '../../types.js';
import { concatBytes, utf8 } from '../util/bytes.js';
import type { HeaderSignature } from '../format/header-codec.js';

/** Domain separation: a signature over a core can never be confused with another message. */
const SIGNED_LABEL = utf8('ovseal/v1 signature\n');

export function signedMessage(core: Uint8Array): Uint8Array {
  return concatBytes([SIGNED_LABEL, core]);
}

export function toPrivateKey(key: KeyObject | string): KeyObject {
  const privateKey = typeof key === 'string' ? createPrivateKey(key) : key;
  if (privateKey.type !== 'private')
    throw new InvalidArgumentError('a signing key must be a private key', { hint: 'create one with `ovseal sign-keygen`' });
  return privateKey;
}

/** A public key from SPKI PEM, SPKI DER bytes (as AWS KMS `GetPublicKey` or a token exports it), or a KeyObject. */
export function toPublicKey(key: KeyObject | string | Uint8Array): KeyObject {
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) return key.type === 'private' ? createPublicKey(key) : key;
  try {
    return typeof key === 'string' ? createPublicKey(key) : createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new InvalidArgumentError('not a public key: expected SPKI PEM or DER', {
      cause,
      hint: 'export it with `aws kms get-public-key`, `pkcs11-tool --read-object --type pubkey`, or use the .pub of `ovseal sign-keygen`',
    });
  }
}

export function publicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}

export function algorithmOf(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256';
  throw new InvalidArgumentError('a signing key is Ed25519 or ECDSA P-256', { hint: 'create one with `ovseal sign-keygen`' });
}

/** Raw public key bytes as the header stores them. */
export function rawPublicKey(publicKey: KeyObject, algorithm: SignatureAlgorithm): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  if (algorithm === 'ed25519') return Buffer.from(jwk.x!, 'base64url');
  return concatBytes([Uint8Array.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

export function publicKeyFromRaw(algorithm: SignatureAlgorithm, raw: Uint8Array): KeyObject {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
  if (algorithm === 'ed25519') return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64(raw) }, format: 'jwk' });
  if (raw[0] !== 4) throw new InvalidArgumentError('P-256 public key is not an uncompressed point');
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(raw.subarray(1, 33)), y: b64(raw.subarray(33, 65)) }, format: 'jwk' });
}

/** Publisher key id (docs/FORMAT.md §3.3): hex SHA-256 of the SPKI DER encoding. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** The key id of a header's signer; a public key that does not decode has none a trust list can hold. */
export function signerKeyId(signature: HeaderSignature): string {
  try {
    return keyIdOf(publicKeyFromRaw(signature.algorithm, signature.publicKey));
  } catch {
    return 'invalid-public-key';
  }
}

/** Signs with a local private key: Ed25519 over the message, ECDSA P-256 over its SHA-256 as r ‖ s. */
export function signWithKey(message: Uint8Array, privateKey: KeyObject, algorithm: SignatureAlgorithm): Uint8Array {
  return algorithm === 'ed25519'
    ? sign(null, message, privateKey)
    : sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
}

/** Signs a core with a local key, synchronously (test forgeries and the vector generator). */
export function signCore(core: Uint8Array, privateKeyInput: KeyObject | string): HeaderSignature {
  const privateKey = toPrivateKey(privateKeyInput);
  const algorithm = algorithmOf(privateKey);
  return {
    algorithm,
    publicKey: rawPublicKey(publicKeyOf(privateKey), algorithm),
    signature: signWithKey(signedMessage(core), privateKey, algorithm),
  };
}

/** True when the signature verifies over the core. Malformed keys verify as false. */
export function verifyCore(core: Uint8Array, signature: HeaderSignature): boolean {
  try {
    const key = publicKeyFromRaw(signature.algorithm, signature.publicKey);
    const message = signedMessage(core);
    return signature.algorithm === 'ed25519'
      ? verify(null, message, key, signature.signature)
      : verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature.signature);
  } catch {
    return false;
  }
}

export function describeSignature(signature: HeaderSignature): SignatureInfo {
  try {
    const key = publicKeyFromRaw(signature.algorithm, signature.publicKey);
    return { algorithm: signature.algorithm, publicKeyPem: key.export({ format: 'pem', type: 'spki' }).toString(), keyId: keyIdOf(key) };
  } catch {
    return { algorithm: signature.algorithm, publicKeyPem: '', keyId: 'invalid-public-key' };
  }
}
