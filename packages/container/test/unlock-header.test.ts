import { describe, expect, it } from 'vitest';
import { generateSigningKey, open, sealToBuffer, unlockHeader } from '@ovseal/container';
import { expectOvsealError, pseudoRandomBytes, testKey } from './helpers.js';

async function sealed(options: { signer?: string; notAfter?: Date } = {}) {
  const owner = testKey();
  const bytes = await sealToBuffer({
    entries: [{ name: 'model.onnx', role: 'onnx', data: pseudoRandomBytes(20_000) }],
    metadata: { name: 'det', version: '4', ...(options.notAfter ? { notAfter: options.notAfter } : {}) },
    recipients: [owner.recipient],
    segmentSize: 4096,
    ...(options.signer ? { signer: options.signer } : {}),
  });
  return { owner, bytes, headerOnly: bytes.subarray(0, new DataView(bytes.buffer, bytes.byteOffset).getUint32(12)) };
}

describe('unlockHeader', () => {
  it('unwraps from the header alone; the data key re-wraps to a new recipient that opens the whole container', async () => {
    const { owner, bytes, headerOnly } = await sealed();
    const unlocked = await unlockHeader(headerOnly, { identities: [owner.identity] });
    expect(unlocked.info.metadata.name).toBe('det');
    expect(unlocked.stanzas).toHaveLength(1);
    expect(unlocked.context.modelVersion).toBe('4');
    const device = testKey();
    const stanzas = await device.recipient.wrap(unlocked.dataKey, unlocked.context);
    unlocked.dataKey.fill(0);
    // The stanza made from the header opens the real container (it is bound to the same context).
    const bridge = { unwrap: (_: unknown, ctx: Parameters<typeof device.identity.unwrap>[1]) => device.identity.unwrap(stanzas, ctx) };
    const model = await open(bytes, { identities: [bridge] });
    expect(model.get('model.onnx')).toEqual(pseudoRandomBytes(20_000));
  });

  it('checks the MAC and the commitment: a flipped header bit is an authentication failure', async () => {
    const { owner, headerOnly } = await sealed();
    const tampered = Uint8Array.from(headerOnly);
    tampered[150] ^= 1; // first byte of the model name
    await expectOvsealError(unlockHeader(tampered, { identities: [owner.identity] }), ['ERR_AUTHENTICATION_FAILED']);
    await expectOvsealError(unlockHeader(headerOnly, { identities: [testKey().identity] }), ['ERR_NO_MATCHING_KEY']);
  });

  it('applies trust and expiry before unwrapping', async () => {
    const publisher = generateSigningKey();
    const { owner, headerOnly } = await sealed({ signer: publisher.privateKeyPem, notAfter: new Date('2026-01-01T00:00:00Z') });
    const calls = owner.identity.calls;
    await expectOvsealError(unlockHeader(headerOnly, { identities: [owner.identity] }), ['ERR_EXPIRED']);
    await expectOvsealError(unlockHeader(headerOnly, { identities: [owner.identity], now: new Date('2025-06-01T00:00:00Z'), trust: { publicKeys: [generateSigningKey().publicKeyPem] } }), ['ERR_SIGNATURE_UNTRUSTED']);
    expect(owner.identity.calls).toBe(calls);
    const unlocked = await unlockHeader(headerOnly, { identities: [owner.identity], now: new Date('2025-06-01T00:00:00Z'), trust: { publicKeys: [publisher.publicKeyPem] } });
    expect(unlocked.info.signature?.keyId).toBe(publisher.keyId);
  });
});
