// The software tpm-ecdh identity needs no TPM: it must open exactly what TpmEcdhRecipient wraps.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createWrapContext, OvsealError } from '@ovseal/container';
import { SoftwareEcdhIdentity, TpmEcdhRecipient } from '../src/index.js';

const context = createWrapContext({ containerId: randomBytes(16), modelName: 'det', modelVersion: '4' });
const newIdentity = () => new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

describe('SoftwareEcdhIdentity', () => {
  it('opens stanzas wrapped to its public key, skips other keys, rejects forgeries and moved stanzas', async () => {
    const identity = newIdentity();
    const dataKey = randomBytes(32);
    const stanzas = await new TpmEcdhRecipient(identity.publicKeyPem).wrap(dataKey, context);
    expect(stanzas[0]!.args[0]).toBe(identity.keyId);
    expect(Buffer.from((await identity.unwrap(stanzas, context))!)).toEqual(dataKey);
    expect(await newIdentity().unwrap(stanzas, context)).toBeNull();

    const forged = [{ ...stanzas[0]!, body: Uint8Array.from(stanzas[0]!.body) }];
    forged[0]!.body[forged[0]!.body.length - 1]! ^= 1;
    await expect(identity.unwrap(forged, context)).rejects.toMatchObject({ code: 'ERR_AUTHENTICATION_FAILED' });
    const elsewhere = createWrapContext({ containerId: randomBytes(16), modelName: 'det', modelVersion: '4' });
    await expect(identity.unwrap(stanzas, elsewhere)).rejects.toBeInstanceOf(OvsealError);
  });

  it('refuses keys that are not P-256 private keys', () => {
    expect(() => new SoftwareEcdhIdentity(generateKeyPairSync('ed25519').privateKey)).toThrow(OvsealError);
    expect(() => new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey)).toThrow(OvsealError);
  });
});
