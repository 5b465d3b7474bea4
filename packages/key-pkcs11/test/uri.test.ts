import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@ovseal/container';
import { parsePkcs11Uri, redactPin } from '../src/index.js';

describe('pkcs11: URIs (RFC 7512)', () => {
  it('reads path and query attributes, percent-decoding values and id bytes', () => {
    const uri = parsePkcs11Uri(
      'pkcs11:token=My%20Token;manufacturer=SoftHSM%20project;serial=abc;model=SoftHSM%20v2;object=model-kek;id=%01%a2;type=secret-key;slot-id=42?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin',
    );
    expect(uri).toEqual({
      token: 'My Token',
      manufacturer: 'SoftHSM project',
      serial: 'abc',
      model: 'SoftHSM v2',
      object: 'model-kek',
      id: new Uint8Array([0x01, 0xa2]),
      type: 'secret-key',
      slotId: 42n,
      modulePath: '/usr/lib/softhsm/libsofthsm2.so',
      pinSource: 'file:/run/pin',
    });
  });

  it('accepts an empty path, the scheme in any case, UTF-8 labels and vendor attributes', () => {
    expect(parsePkcs11Uri('pkcs11:')).toEqual({});
    expect(parsePkcs11Uri('PKCS11:object=%C3%A9t%C3%A9;x-vendor=1')).toEqual({ object: 'été' });
    expect(parsePkcs11Uri('pkcs11:library-manufacturer=SoftHSM;library-version=2.6?module-name=softhsm2').libraryVersion).toBe('2.6');
  });

  it.each([
    ['file:key', 'does not start with'],
    ['pkcs11:token=a;token=b', 'appears twice'],
    ['pkcs11:tokn=a', 'unknown path attribute'],
    ['pkcs11:token=a?pin=1', 'unknown query attribute'],
    ['pkcs11:id=%zz', 'percent-encoding'],
    ['pkcs11:type=key', 'type is one of'],
    ['pkcs11:slot-id=x1', 'decimal'],
    ['pkcs11:token', 'not name=value'],
    ['pkcs11:object=%ff%fe', 'not UTF-8'],
    ['pkcs11:?pin-source=file:/a&pin-value=1', 'not both'],
    ['pkcs11:?module-path=/a.so&module-name=b', 'not both'],
  ])('refuses %s', (uri, message) => {
    expect(() => parsePkcs11Uri(uri)).toThrow(InvalidArgumentError);
    if (message) expect(() => parsePkcs11Uri(uri)).toThrow(message);
  });

  it('never repeats a pin-value in its messages', () => {
    expect(() => parsePkcs11Uri('pkcs11:tokn=a?pin-value=s3cret')).toThrow(/pin-value=\*\*\*/);
    expect(() => parsePkcs11Uri('pkcs11:tokn=a?pin-value=s3cret')).not.toThrow(/s3cret/);
    expect(redactPin('pkcs11:a=b?pin-value=1234&module-path=/x')).toBe('pkcs11:a=b?pin-value=***&module-path=/x');
  });
});
