/**
 * @ovseal/testkit as a consumer's integration test uses it: a software TPM that a device key lives
 * in, kms-local with a key, a broker that registers a container sealed to that key, and a sealed
 * fixture that opens with its key and trusts its publisher.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { open, sealToBuffer } from '@ovseal/container';
import { kmsIdentityFromUri, kmsRecipientFromUri } from '@ovseal/key-kms';
import { initDeviceKey, tpmIdentityFromUri, tpmRecipientFromUri } from '@ovseal/key-tpm';
import { checkSwtpmPrerequisites, sealedFixture, startKmsLocal, startSwtpm, tinyIrModel } from '@ovseal/testkit';
import { startBroker } from '@ovseal/testkit/broker';
import { describeWithPart } from '@ovseal/test-fixtures/vitest';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('sealedFixture', () => {
  test('a signed container of the tiny IR model that opens with its key and trusts its publisher', async () => {
    const fixture = await sealedFixture();
    cleanups.push(() => fixture.cleanup());
    const model = await open(fixture.path, { identities: [fixture.identity], trust: { publicKeys: [fixture.publisher!.publicKeyPem] } });
    expect(new TextDecoder().decode(model.get('model.xml'))).toBe(tinyIrModel().xml);
    expect([...new Float32Array(Uint8Array.from(model.get('model.bin')).buffer)]).toEqual(new Array(10).fill(1));
    expect(model.info.metadata).toMatchObject({ name: 'fixture', version: '1.0.0', format: 'openvino-ir' });
    model.dispose();
    expect(fixture.keyUri).toBe(`file:${fixture.keyPath}`);
  });
});

describe('startKmsLocal', () => {
  test('a key, client options and the environment for a child process', async () => {
    const kms = await startKmsLocal({ alias: 'alias/testkit' });
    cleanups.push(() => kms.close());
    expect(kms.kms.describeKey('alias/testkit')?.arn).toBe(kms.keyArn);
    expect(kms.env['AWS_ENDPOINT_URL_KMS']).toBe(kms.kms.endpoint);
    const sealed = await sealToBuffer({
      entries: [{ name: 'a.bin', role: 'aux', data: new Uint8Array(100) }],
      metadata: { name: 'm', version: '1' },
      recipients: [kmsRecipientFromUri(kms.uri, kms.clientOptions)],
    });
    const model = await open(sealed, { identities: [kmsIdentityFromUri(kms.uri, kms.clientOptions)] });
    expect(model.get('a.bin')).toHaveLength(100);
    model.dispose();
  });
});

describe('startBroker', () => {
  test('registers a container sealed to its KMS key, with the admin token', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.close());
    const fixture = await sealedFixture({ recipients: [broker.recipient!] });
    cleanups.push(() => fixture.cleanup());
    const registered = await broker.admin('POST', '/v1/admin/models', await readFile(fixture.path));
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ name: 'fixture', version: '1.0.0' });
    expect((await fetch(`${broker.url}/v1/admin/models`)).status).toBe(401);
  });
});

const swtpm = checkSwtpmPrerequisites();
describeWithPart('startSwtpm', swtpm.ok ? swtpm : new Error(swtpm.message), 'sudo apt-get install swtpm swtpm-tools tpm2-tools', () => {
  test('a TPM a device key lives in: sealed to its public key, opened inside it', async () => {
    const tpm = await startSwtpm();
    cleanups.push(() => tpm.close());
    const key = await initDeviceKey({ tcti: tpm.tcti, type: 'tpm-ecdh', handle: 0x81000100 });
    const sealed = await sealToBuffer({
      entries: [{ name: 'a.bin', role: 'aux', data: new Uint8Array(7) }],
      metadata: { name: 'm', version: '1' },
      recipients: [tpmRecipientFromUri(key.recipientUri)],
    });
    const model = await open(sealed, { identities: [await tpmIdentityFromUri(key.identityUri)] });
    expect(model.get('a.bin')).toHaveLength(7);
    model.dispose();
  });
});
