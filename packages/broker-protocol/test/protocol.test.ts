import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createWrapContext } from '@ovseal/container';
import {
  challengeWrapFields,
  CHALLENGE_LABEL,
  deviceRequestProof,
  parseDeviceAuthorization,
  REQUEST_ID_PATTERN,
  signDeviceRequest,
  stanzaFromJson,
  stanzaToJson,
} from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('@ovseal/broker-protocol', () => {
  it('has no runtime dependencies: nothing in package.json, and its sources import only node: builtins and each other', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg['dependencies'] ?? {}).toEqual({});
    expect(pkg['peerDependencies'] ?? {}).toEqual({});
    for (const file of await readdir(join(root, 'src'))) {
      const text = await readFile(join(root, 'src', file), 'utf8');
      const imported = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map((match) => match[1]!);
      for (const specifier of imported) expect(specifier, `${file} imports ${specifier}`).toMatch(/^(node:|\.\/)/);
    }
  });

  it('the proof is HMAC-SHA-256 over the documented canonical request', () => {
    const secret = randomBytes(32);
    const body = Buffer.from('{"requestId":"abcdefgh"}');
    const fields = {
      method: 'post',
      path: '/v1/models/det%404/key',
      deviceId: 'edge-1',
      nonce: 'bm9uY2U',
      timestamp: 1_700_000_000_000,
      body,
    };
    const canonical = [
      'ovseal-broker/v1 request',
      'POST',
      fields.path,
      'edge-1',
      'bm9uY2U',
      '1700000000000',
      createHash('sha256').update(body).digest('hex'),
    ].join('\n');
    expect(deviceRequestProof(secret, fields).equals(createHmac('sha256', secret).update(canonical).digest())).toBe(true);
    // Every field is covered.
    for (const changed of [
      { method: 'GET' },
      { path: '/v1/models' },
      { deviceId: 'edge-2' },
      { nonce: 'b3RoZXI' },
      { timestamp: 1 },
      { body: Buffer.from('{}') },
    ]) {
      expect(deviceRequestProof(secret, { ...fields, ...changed }).equals(deviceRequestProof(secret, fields))).toBe(false);
    }
  });

  it('parses what it signs, and refuses malformed headers', () => {
    const secret = randomBytes(32);
    const fields = {
      method: 'GET',
      path: '/v1/models',
      deviceId: 'line 3/édge',
      nonce: randomBytes(24).toString('base64url'),
      timestamp: Date.now(),
      body: Buffer.alloc(0),
    };
    const parsed = parseDeviceAuthorization(signDeviceRequest(secret, fields));
    expect(parsed).not.toBe('malformed');
    const auth = parsed as Exclude<typeof parsed, 'malformed' | undefined>;
    expect({ deviceId: auth.deviceId, nonce: auth.nonce, timestamp: auth.timestamp }).toEqual({
      deviceId: fields.deviceId,
      nonce: fields.nonce,
      timestamp: fields.timestamp,
    });
    expect(auth.proof.equals(deviceRequestProof(secret, fields))).toBe(true);
    expect(parseDeviceAuthorization(undefined)).toBeUndefined();
    expect(parseDeviceAuthorization('Bearer abc')).toBeUndefined();
    expect(parseDeviceAuthorization('Ovseal-Device device=a, nonce=b, ts=1')).toBe('malformed');
    expect(parseDeviceAuthorization('Ovseal-Device device=%E0%A4%A, nonce=b, ts=1, proof=c')).toBe('malformed');
    expect(parseDeviceAuthorization('Ovseal-Device device=a, nonce=b+/, ts=1, proof=c')).toBe('malformed');
  });

  it('challenge fields build the same wrap context the broker binds challenges to', () => {
    const nonce = randomBytes(24).toString('base64url');
    const fields = challengeWrapFields(nonce, 'edge-1');
    expect(fields.modelName).toBe(CHALLENGE_LABEL);
    expect(Buffer.from(fields.containerId).equals(Buffer.from(nonce, 'base64url').subarray(0, 16))).toBe(true);
    const context = createWrapContext(fields);
    expect(context.encryptionContext['ovseal:version']).toBe('edge-1');
    expect(() => challengeWrapFields('c2hvcnQ', 'edge-1')).toThrow(TypeError);
  });

  it('stanzas round-trip through JSON; anything else is a TypeError', () => {
    const stanza = { type: 'tpm-ecdh', args: ['ab'], body: new Uint8Array(randomBytes(40)) };
    expect(stanzaFromJson(JSON.parse(JSON.stringify(stanzaToJson(stanza))))).toEqual({ ...stanza, args: ['ab'] });
    for (const bad of [null, {}, { type: 'x', args: [1], body: '' }, { type: 'x', args: [], body: 5 }])
      expect(() => stanzaFromJson(bad)).toThrow(TypeError);
  });

  it('request ids are 8-64 base64url characters (a UUID fits)', () => {
    expect(REQUEST_ID_PATTERN.test(crypto.randomUUID())).toBe(true);
    expect(REQUEST_ID_PATTERN.test('short')).toBe(false);
    expect(REQUEST_ID_PATTERN.test('a'.repeat(65))).toBe(false);
  });
});
