import {
  constants,
  createCipheriv,
  createHmac,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { AttestationError } from '../../attestation-error.js';
import { sized16 } from '../bytes.js';
import { hashOfAlg } from '../tpm-public.js';
import { kdfa, kdfe, labelBytes } from './kdf.js';
import type { EndorsementKeyPublic } from './key-roles.js';

/**
 * TPM2_MakeCredential computed outside the TPM (TPM 2.0 Part 1, §24 "Credential Protection", and
 * Part 3, §12.6): a secret encrypted so that only the TPM holding the endorsement key — and only
 * while an object with the given name is loaded in it — gets it back with TPM2_ActivateCredential.
 * The hash of every step is the EK's name algorithm (the protector's), not the object's.
 */

/** What TPM2_ActivateCredential takes: `credentialBlob` (TPM2B_ID_OBJECT) and `secret` (TPM2B_ENCRYPTED_SECRET). */
export interface CredentialBlob {
  readonly idObject: Buffer;
  readonly encryptedSecret: Buffer;
}

interface Seed {
  readonly seed: Buffer;
  /** The marshalled secret the TPM recovers the seed from (without its TPM2B size). */
  readonly encrypted: Buffer;
}

type Hash = { readonly name: string; readonly size: number };

/** RSA EK: a random seed of the name algorithm's digest size, RSA-OAEP encrypted with label "IDENTITY\0". */
function rsaSeed(ek: KeyObject, hash: Hash): Seed {
  const seed = randomBytes(hash.size);
  const encrypted = publicEncrypt(
    { key: ek, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash.name, oaepLabel: labelBytes('IDENTITY') },
    seed,
  );
  return { seed, encrypted };
}

function ecCoordinates(key: KeyObject): { x: Buffer; y: Buffer } {
  const jwk = key.export({ format: 'jwk' });
  return { x: Buffer.from(jwk.x!, 'base64url'), y: Buffer.from(jwk.y!, 'base64url') };
}

/**
 * ECC EK: an ephemeral key on the EK's curve; seed = KDFe(nameAlg, Z, "IDENTITY", ephemeral x, EK x,
 * digest bits) with Z the x-coordinate of the shared point; the secret is the ephemeral point
 * (TPMS_ECC_POINT).
 */
function eccSeed(ek: KeyObject, hash: Hash): Seed {
  const ephemeral = generateKeyPairSync('ec', { namedCurve: ek.asymmetricKeyDetails!.namedCurve! });
  const z = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: ek });
  try {
    const point = ecCoordinates(ephemeral.publicKey);
    const seed = kdfe(hash.name, z, 'IDENTITY', point.x, ecCoordinates(ek).x, hash.size * 8);
    return { seed, encrypted: Buffer.concat([sized16(point.x), sized16(point.y)]) };
  } finally {
    z.fill(0);
  }
}

/** encIdentity = AES-CFB(KDFa(nameAlg, seed, "STORAGE", name, ∅, keyBits), IV 0, TPM2B_DIGEST(credential)). */
function encryptIdentity(ek: EndorsementKeyPublic, hash: Hash, seed: Buffer, name: Uint8Array, credential: Uint8Array): Buffer {
  const bits = ek.symmetric.keyBits;
  const key = kdfa(hash.name, seed, 'STORAGE', name, Buffer.alloc(0), bits);
  try {
    const cipher = createCipheriv(`aes-${bits}-cfb`, key, Buffer.alloc(16));
    return Buffer.concat([cipher.update(sized16(credential)), cipher.final()]);
  } finally {
    key.fill(0);
  }
}

/** The outer integrity: HMAC_nameAlg(KDFa(nameAlg, seed, "INTEGRITY", ∅, ∅, digest bits), encIdentity ‖ name). */
function outerIntegrity(hash: Hash, seed: Buffer, encIdentity: Buffer, name: Uint8Array): Buffer {
  const key = kdfa(hash.name, seed, 'INTEGRITY', Buffer.alloc(0), Buffer.alloc(0), hash.size * 8);
  try {
    return createHmac(hash.name, key).update(encIdentity).update(name).digest();
  } finally {
    key.fill(0);
  }
}

/** Builds the credential blob and encrypted seed for `credential`, bound to the object `name`. */
export function makeCredentialBlob(ek: EndorsementKeyPublic, name: Uint8Array, credential: Uint8Array): CredentialBlob {
  const hash = hashOfAlg(ek.nameAlg)!;
  if (credential.length === 0 || credential.length > hash.size) {
    throw new AttestationError(
      'ERR_ATTEST_UNSUPPORTED',
      `a credential holds 1 to ${hash.size} bytes (the EK's name digest size), not ${credential.length}`,
    );
  }
  const { seed, encrypted } = ek.type === 'rsa' ? rsaSeed(ek.publicKey, hash) : eccSeed(ek.publicKey, hash);
  try {
    const encIdentity = encryptIdentity(ek, hash, seed, name, credential);
    const integrity = outerIntegrity(hash, seed, encIdentity, name);
    return { idObject: sized16(Buffer.concat([sized16(integrity), encIdentity])), encryptedSecret: sized16(encrypted) };
  } finally {
    seed.fill(0);
  }
}
