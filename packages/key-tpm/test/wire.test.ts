import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@ovseal/container';
import { TpmEcdhRecipient, TpmRsaRecipient, tpmRecipientFromUri, TpmSealRecipient } from '../src/index.js';
import { eccPointFile, parseEcdhBody, pointOf, sharedXFromTpm } from '../src/lib/ecdh-wire.js';
import { formatPcrSelection, parsePcrSelection, pcrPolicyDigest } from '../src/lib/pcr.js';
import { oaepLabel } from '../src/lib/rsa-wire.js';
import { encodeSealBody, parseSealBody } from '../src/lib/seal-wire.js';
import { parseUri } from '../src/lib/uri.js';
import { dataKey, newContext } from './helpers.js';

describe('wire formats (no TPM needed)', () => {
  it('parses and normalises PCR selections', () => {
    expect(formatPcrSelection(parsePcrSelection('sha256:7,0,7'))).toBe('sha256:0,7');
    expect(parsePcrSelection('sha1:23')).toEqual({ bank: 'sha1', indices: [23] });
    for (const bad of ['sha256:24', 'md5:1', 'sha256:', 'sha256', '0,7', 'sha256:0+sha1:1']) {
      expect(() => parsePcrSelection(bad)).toThrow(InvalidArgumentError);
    }
  });

  it('computes the PolicyPCR digest tpm2_createpolicy computes', () => {
    // Vector: `tpm2_createpolicy --policy-pcr -l sha256:0,16` on a fresh swtpm (both PCRs zero).
    const digest = pcrPolicyDigest(parsePcrSelection('sha256:0,16'), Buffer.alloc(64));
    expect(digest.toString('hex')).toBe('eaba795a1470d109ab9532d03d4eeec2ebcd8dff15bb650343d1edd10cfb8d5c');
    expect(() => pcrPolicyDigest(parsePcrSelection('sha256:0,16'), Buffer.alloc(32))).toThrow(RangeError);
  });

  it('lays out a tpm-ecdh stanza as point ‖ ciphertext ‖ tag, bound to the device key', async () => {
    const device = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const recipient = new TpmEcdhRecipient(device.publicKey);
    const [stanza] = await recipient.wrap(dataKey(), newContext());
    expect(stanza!.body).toHaveLength(65 + 32 + 16);
    const body = parseEcdhBody(stanza!.body)!;
    expect(body.ephemeralPoint[0]).toBe(4);
    // A point off the curve is not even sent to the TPM.
    const offCurve = Buffer.from(stanza!.body);
    offCurve[40]! ^= 1;
    expect(parseEcdhBody(offCurve)).toBeNull();
    expect(parseEcdhBody(new Uint8Array(20))).toBeNull();
    // TPM2B_ECC_POINT round trip.
    const point = pointOf(device.publicKey);
    expect(sharedXFromTpm(eccPointFile(point))).toEqual(point.subarray(1, 33));
  });

  it('labels tpm-rsa OAEP with 32 printable characters derived from the context', () => {
    const a = oaepLabel(newContext());
    expect(a).toMatch(/^ovseal1:[A-Za-z0-9_-]{24}$/);
    expect(a).not.toBe(oaepLabel(newContext()));
  });

  it('encodes and parses tpm-seal bodies, refusing truncated ones', () => {
    const body = { pcrs: 'sha256:0,7', publicArea: Buffer.from('pub'), privateArea: Buffer.from('priv'), sealed: Buffer.alloc(48, 1) };
    const bytes = encodeSealBody(body);
    expect(parseSealBody(bytes)).toEqual(body);
    expect(parseSealBody(bytes.subarray(0, 10))).toBeNull();
    expect(parseSealBody(Buffer.concat([Buffer.from([2]), bytes.subarray(1)]))).toBeNull();
  });

  it('parses URIs with TCTI strings and percent-encoded paths', () => {
    const uri = parseUri('tpm:handle=0x81000100?tcti=swtpm:host=127.0.0.1,port=2321&pcrs=sha256:0,7', ['tpm']);
    expect(uri.head).toBe('handle=0x81000100');
    expect(uri.params.get('tcti')).toBe('swtpm:host=127.0.0.1,port=2321');
    expect(uri.params.get('pcrs')).toBe('sha256:0,7');
    expect(parseUri('tpm:dir=/a%3Fb', ['tpm']).head).toBe('dir=/a?b');
    expect(() => parseUri('kms:x', ['tpm'])).toThrow(InvalidArgumentError);
    expect(() => parseUri('tpm:seal?oops', ['tpm'])).toThrow(InvalidArgumentError);
  });

  it('builds tpm-seal recipients from URIs without touching the TPM', () => {
    const recipient = tpmRecipientFromUri('tpm-seal:sha256:7?parent=0x81000001&tcti=swtpm:host=127.0.0.1,port=2321') as TpmSealRecipient;
    expect(recipient).toBeInstanceOf(TpmSealRecipient);
    expect(recipient.toString()).toBe('tpm-seal:sha256:7?parent=0x81000001');
    expect((tpmRecipientFromUri('tpm-seal:') as TpmSealRecipient).toString()).toBe('tpm-seal:sha256:0,7?parent=owner');
    expect(() => tpmRecipientFromUri('tpm-seal:sha256:0?parent=0x1234')).toThrow(InvalidArgumentError);
    expect(() => tpmRecipientFromUri('tpm-seal:?colour=blue')).toThrow(InvalidArgumentError);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const der = rsa.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(tpmRecipientFromUri(`tpm-rsa:${der}`)).toBeInstanceOf(TpmRsaRecipient);
    expect(createPublicKey((tpmRecipientFromUri(`tpm-rsa:${der}`) as TpmRsaRecipient).publicKeyPem).asymmetricKeyType).toBe('rsa');
  });
});
