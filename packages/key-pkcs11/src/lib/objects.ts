import { createPublicKey, type KeyObject } from 'node:crypto';
import type { PKCS11 } from 'pkcs11js';
import { Pkcs11Error } from '../errors.js';
import type { Pkcs11ObjectType, Pkcs11Uri } from '../parse-pkcs11-uri.js';
import {
  CKA_ALWAYS_AUTHENTICATE,
  CKA_CLASS,
  CKA_EC_PARAMS,
  CKA_EC_POINT,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_MODULUS,
  CKA_PUBLIC_EXPONENT,
  CKO_CERTIFICATE,
  CKO_DATA,
  CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY,
  CKO_SECRET_KEY,
} from './ck.js';
import { toPkcs11Error } from './to-pkcs11-error.js';

type Handle = Buffer;

/** A key found in a token, with what is needed to use and describe it. */
export interface FoundKey {
  readonly handle: Handle;
  readonly objectClass: number;
  readonly keyType: number;
  readonly label: string;
  readonly id: Buffer;
}

const CLASS_OF_TYPE: Record<Pkcs11ObjectType, number> = {
  public: CKO_PUBLIC_KEY,
  private: CKO_PRIVATE_KEY,
  'secret-key': CKO_SECRET_KEY,
  cert: CKO_CERTIFICATE,
  data: CKO_DATA,
};

function readULong(value: Buffer): number {
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0);
}

/** Object handles of the given classes that match the URI's `object`, `id` and `type`. */
export function findKeys(api: PKCS11, session: Handle, uri: Pkcs11Uri, classes: readonly number[]): FoundKey[] {
  const wanted = uri.type === undefined ? classes : classes.filter((c) => c === CLASS_OF_TYPE[uri.type!]);
  const found: FoundKey[] = [];
  try {
    for (const objectClass of wanted) {
      const template: { type: number; value: number | string | Buffer }[] = [{ type: CKA_CLASS, value: objectClass }];
      if (uri.object !== undefined) template.push({ type: CKA_LABEL, value: uri.object });
      if (uri.id !== undefined) template.push({ type: CKA_ID, value: Buffer.from(uri.id) });
      api.C_FindObjectsInit(session, template);
      try {
        for (;;) {
          const batch = api.C_FindObjects(session, 16);
          if (batch.length === 0) break;
          for (const handle of batch) {
            const [keyType, label, id] = api.C_GetAttributeValue(session, handle, [
              { type: CKA_KEY_TYPE },
              { type: CKA_LABEL },
              { type: CKA_ID },
            ]);
            found.push({
              handle,
              objectClass,
              keyType: readULong(keyType!.value),
              label: label!.value.toString('utf8'),
              id: Buffer.from(id!.value),
            });
          }
        }
      } finally {
        api.C_FindObjectsFinal(session);
      }
    }
  } catch (error) {
    throw toPkcs11Error(error, 'C_FindObjects', describeQuery(uri));
  }
  return found;
}

/** `object="kek" id=01`, for messages. */
export function describeQuery(uri: Pkcs11Uri): string {
  const parts = [
    uri.object === undefined ? undefined : `object=${JSON.stringify(uri.object)}`,
    uri.id === undefined ? undefined : `id=${Buffer.from(uri.id).toString('hex')}`,
    uri.type === undefined ? undefined : `type=${uri.type}`,
  ].filter(Boolean);
  return parts.length === 0 ? 'any key' : parts.join(' ');
}

export function describeKey(key: FoundKey): string {
  return `key ${JSON.stringify(key.label)} (id ${key.id.toString('hex') || 'none'})`;
}

/** Exactly one key, or a typed error saying none or which ones. */
export function exactlyOne(keys: readonly FoundKey[], uri: Pkcs11Uri, token: string, what: string): FoundKey {
  if (keys.length === 1) return keys[0]!;
  if (keys.length === 0) {
    throw new Pkcs11Error('ERR_PKCS11_OBJECT_NOT_FOUND', `no ${what} matches ${describeQuery(uri)} in ${token}`, {
      hint: 'list the keys with `pkcs11-tool --module MODULE --login --list-objects`; private keys are only visible with a PIN',
    });
  }
  throw new Pkcs11Error(
    'ERR_PKCS11_AMBIGUOUS',
    `${keys.length} keys match ${describeQuery(uri)} in ${token}: ${keys.map(describeKey).join(', ')}`,
    {
      hint: 'add object=LABEL or id=… to the pkcs11: URI',
    },
  );
}

export function attribute(api: PKCS11, session: Handle, handle: Handle, type: number): Buffer {
  return api.C_GetAttributeValue(session, handle, [{ type }])[0]!.value;
}

export function alwaysAuthenticate(api: PKCS11, session: Handle, handle: Handle): boolean {
  try {
    const value = attribute(api, session, handle, CKA_ALWAYS_AUTHENTICATE);
    return value.length > 0 && value[0] === 1;
  } catch {
    return false; // not a private key, or a token without the attribute
  }
}

/** An RSA public key from an RSA key object (public or private: both carry modulus and exponent). */
export function rsaPublicKey(api: PKCS11, session: Handle, handle: Handle): KeyObject {
  const [modulus, exponent] = api.C_GetAttributeValue(session, handle, [{ type: CKA_MODULUS }, { type: CKA_PUBLIC_EXPONENT }]);
  return createPublicKey({
    key: { kty: 'RSA', n: modulus!.value.toString('base64url'), e: exponent!.value.toString('base64url') },
    format: 'jwk',
  });
}

/** DER OCTET STRING content, or the bytes themselves when they are not wrapped (tokens differ). */
function unwrapOctetString(bytes: Buffer, rawLength: number): Buffer {
  if (bytes.length === rawLength) return bytes;
  if (bytes[0] === 0x04 && bytes[1] === rawLength && bytes.length === rawLength + 2) return bytes.subarray(2);
  throw new Pkcs11Error('ERR_PKCS11_KEY_UNSUITABLE', `unexpected CKA_EC_POINT encoding (${bytes.length} bytes)`);
}

const P256_OID = Buffer.from('06082a8648ce3d030107', 'hex');
const ED25519_OID = Buffer.from('06032b6570', 'hex');
const ED25519_NAME = Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519')]);

/** The curve of an EC or EdDSA key from CKA_EC_PARAMS; undefined for curves the format has no place for. */
export function curveOf(params: Buffer): 'p256' | 'ed25519' | undefined {
  if (params.equals(P256_OID)) return 'p256';
  if (params.equals(ED25519_OID) || params.equals(ED25519_NAME)) return 'ed25519';
  return undefined;
}

/** The public key of a signing key pair, from its public key object. */
export function ecPublicKey(
  api: PKCS11,
  session: Handle,
  handle: Handle,
): { curve: 'p256' | 'ed25519' | undefined; publicKey: KeyObject | undefined } {
  const [params, point] = api.C_GetAttributeValue(session, handle, [{ type: CKA_EC_PARAMS }, { type: CKA_EC_POINT }]);
  const curve = curveOf(params!.value);
  if (curve === 'p256') {
    const raw = unwrapOctetString(point!.value, 65);
    return {
      curve,
      publicKey: createPublicKey({
        key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') },
        format: 'jwk',
      }),
    };
  }
  if (curve === 'ed25519') {
    const raw = unwrapOctetString(point!.value, 32);
    return { curve, publicKey: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' }) };
  }
  return { curve, publicKey: undefined };
}
