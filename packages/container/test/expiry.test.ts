/**
 * Expiry (notAfter, docs/FORMAT.md R-EXP-1): refused by every reader after the time, once the header
 * is authenticated (after the MAC), so that a tampered notAfter is reported as tampering.
 */
import { describe, expect, test } from 'vitest';
import { inspect, open, openEntry, openStream, sealToBuffer, verify, type ExpiredError } from '@ovseal/container';
import { headerOf } from './forge.js';
import { drain, expectOvsealError, pseudoRandomBytes, testKey } from './helpers.js';

const DATA = pseudoRandomBytes(5000, 5);

async function sealWith(notAfter: Date | undefined) {
  const key = testKey();
  const bytes = await sealToBuffer({
    entries: [{ name: 'model.onnx', role: 'onnx', data: DATA }],
    metadata: { name: 'm', version: '1', ...(notAfter ? { notAfter } : {}) },
    recipients: [key.recipient],
    segmentSize: 4096,
  });
  return { key, bytes };
}

describe('expiry', () => {
  test('notAfter in the past: ERR_EXPIRED from open, openEntry, openStream and verify', async () => {
    const notAfter = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
    const { key, bytes } = await sealWith(notAfter);
    expect((await inspect(bytes)).metadata.notAfter).toEqual(notAfter);
    const identities = [key.identity];
    const error = await expectOvsealError(open(bytes, { identities }), ['ERR_EXPIRED']);
    expect((error as ExpiredError).notAfter).toEqual(notAfter);
    await expectOvsealError(openEntry(bytes, 'model.onnx', { identities }), ['ERR_EXPIRED']);
    await expectOvsealError(drain(openStream(bytes, { identities })), ['ERR_EXPIRED']);
    await expectOvsealError(verify(bytes), ['ERR_EXPIRED']);
    await expectOvsealError(verify(bytes, { identities }), ['ERR_EXPIRED']);
    // Checked after the MAC: each reader with a key unwrapped once.
    expect(key.identity.calls).toBe(4);
  });

  test('a tampered notAfter is tampering, not expiry; without a key, expiry still applies', async () => {
    const { key, bytes } = await sealWith(new Date('2031-06-30T12:00:00Z'));
    const header = headerOf(bytes);
    const tampered = Buffer.from(bytes);
    tampered.writeBigUInt64BE(1n, 140); // notAfter (docs/FORMAT.md §3.2): 1970-01-01T00:00:01Z
    expect(header.notAfter).not.toBe(1);
    await expectOvsealError(open(tampered, { identities: [key.identity] }), ['ERR_AUTHENTICATION_FAILED']);
    await expectOvsealError(verify(tampered, { identities: [key.identity] }), ['ERR_AUTHENTICATION_FAILED']);
    // A keyless verify of an unsigned container has nothing to authenticate the header with.
    await expectOvsealError(verify(tampered), ['ERR_EXPIRED']);
  });

  test('the `now` option: before notAfter opens, after it is refused; the boundary second still opens', async () => {
    const notAfter = new Date('2031-06-30T12:00:00Z');
    const { key, bytes } = await sealWith(notAfter);
    const identities = [key.identity];
    expect((await open(bytes, { identities, now: new Date('2031-01-01T00:00:00Z') })).get('model.onnx').length).toBe(DATA.length);
    expect((await open(bytes, { identities, now: new Date('2031-06-30T11:59:59Z') })).entries).toHaveLength(1);
    expect((await open(bytes, { identities, now: notAfter })).entries).toHaveLength(1);
    const later = new Date(notAfter.getTime() + 1);
    await expectOvsealError(open(bytes, { identities, now: later }), ['ERR_EXPIRED']);
    await expectOvsealError(openEntry(bytes, 'model.onnx', { identities, now: later }), ['ERR_EXPIRED']);
    await expectOvsealError(drain(openStream(bytes, { identities, now: later })), ['ERR_EXPIRED']);
    await expectOvsealError(verify(bytes, { now: later }), ['ERR_EXPIRED']);
    expect((await verify(bytes, { now: new Date('2020-01-01T00:00:00Z') })).info.metadata.notAfter).toEqual(notAfter);
  });

  test("an expired container can be opened with a `now` before its expiry (replaying an old clock is the caller's choice)", async () => {
    const { key, bytes } = await sealWith(new Date('2001-01-01T00:00:00Z'));
    await expectOvsealError(open(bytes, { identities: [key.identity] }), ['ERR_EXPIRED']);
    expect((await open(bytes, { identities: [key.identity], now: new Date('2000-12-31T00:00:00Z') })).entries).toHaveLength(1);
  });

  test('no notAfter: never expires', async () => {
    const { key, bytes } = await sealWith(undefined);
    expect((await inspect(bytes)).metadata.notAfter).toBeUndefined();
    expect((await open(bytes, { identities: [key.identity], now: new Date('2999-01-01T00:00:00Z') })).entries).toHaveLength(1);
  });
});
