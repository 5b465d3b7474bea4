/**
 * What key services (the fleet broker) need from a header alone — re-wrap its data key to other
 * recipients, check its commitment and MAC — without the data key ever leaving the package
 * (issue 12 item 9).
 */
import { describe, expect, it } from 'vitest';
import * as container from '@ovseal/container';
import { generateSigningKey, open, rewrapHeader, sealToBuffer, verifyHeader } from '@ovseal/container';
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

describe('the data key stays inside @ovseal/container', () => {
  it('the main entry exports no function that returns it', () => {
    expect(Object.keys(container)).not.toContain('unlockHeader');
  });
});

describe('rewrapHeader', () => {
  it('wraps the data key of a header to new recipients; their stanza opens the whole container', async () => {
    const { owner, bytes, headerOnly } = await sealed();
    const device = testKey();
    const rewrapped = await rewrapHeader(headerOnly, { identities: [owner.identity], recipients: [device.recipient] });
    expect(rewrapped.info.metadata.name).toBe('det');
    expect(rewrapped.context.modelVersion).toBe('4');
    expect(rewrapped.stanzas).toHaveLength(1);
    expect(JSON.stringify(Object.keys(rewrapped))).not.toMatch(/key"/i);
    // The stanza made from the header opens the real container (it is bound to the same context).
    const bridge = {
      unwrap: (_: unknown, ctx: Parameters<typeof device.identity.unwrap>[1]) => device.identity.unwrap(rewrapped.stanzas, ctx),
    };
    const model = await open(bytes, { identities: [bridge] });
    expect(model.get('model.onnx')).toEqual(pseudoRandomBytes(20_000));
  });

  it('checks the MAC and the commitment before wrapping anything', async () => {
    const { owner, headerOnly } = await sealed();
    const tampered = Uint8Array.from(headerOnly);
    tampered[150]! ^= 1; // first byte of the model name
    const device = testKey();
    const wraps = { count: 0 };
    const counting = { wrap: async (...args: Parameters<typeof device.recipient.wrap>) => (wraps.count++, device.recipient.wrap(...args)) };
    await expectOvsealError(rewrapHeader(tampered, { identities: [owner.identity], recipients: [counting] }), [
      'ERR_AUTHENTICATION_FAILED',
    ]);
    await expectOvsealError(rewrapHeader(headerOnly, { identities: [testKey().identity], recipients: [counting] }), [
      'ERR_NO_MATCHING_KEY',
    ]);
    expect(wraps.count).toBe(0);
  });
});

describe('verifyHeader', () => {
  it('proves a key unwraps the header (commitment and MAC checked) and returns its stanzas', async () => {
    const { owner, headerOnly } = await sealed();
    const verified = await verifyHeader(headerOnly, { identities: [owner.identity] });
    expect(verified.stanzas).toHaveLength(1);
    expect(verified.info.containerId).toMatch(/^[0-9a-f]{32}$/);
    const tampered = Uint8Array.from(headerOnly);
    tampered[70]! ^= 1; // a commitment byte
    await expectOvsealError(verifyHeader(tampered, { identities: [owner.identity] }), ['ERR_AUTHENTICATION_FAILED']);
  });

  it('applies trust before unwrapping and expiry after the MAC; a present signature is always verified', async () => {
    const publisher = generateSigningKey();
    const { owner, headerOnly } = await sealed({ signer: publisher.privateKeyPem, notAfter: new Date('2026-01-01T00:00:00Z') });
    const before = new Date('2025-06-01T00:00:00Z');
    const calls = owner.identity.calls;
    await expectOvsealError(
      verifyHeader(headerOnly, { identities: [owner.identity], now: before, trust: { publicKeys: [generateSigningKey().publicKeyPem] } }),
      ['ERR_SIGNATURE_UNTRUSTED'],
    );
    expect(owner.identity.calls).toBe(calls);
    await expectOvsealError(verifyHeader(headerOnly, { identities: [owner.identity], now: new Date('2026-01-01T00:00:01Z') }), [
      'ERR_EXPIRED',
    ]);
    expect(owner.identity.calls).toBe(calls + 1);
    const verified = await verifyHeader(headerOnly, {
      identities: [owner.identity],
      now: before,
      trust: { publicKeys: [publisher.publicKeyPem] },
    });
    expect(verified.info.signature?.keyId).toBe(publisher.keyId);
  });
});
