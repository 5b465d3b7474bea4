import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { inspect, NoMatchingKeyError, open, rewrap, seal, sealToBuffer } from '@ovseal/container';
import {
  initDeviceKey,
  TpmEcdhRecipient,
  TpmError,
  tpmIdentityFromUri,
  TpmRsaRecipient,
  TpmSealIdentity,
  TpmSealRecipient,
} from '../src/index.js';
import { describeTpm, extendPcr, useSwtpm } from './helpers.js';

const model = { xml: Buffer.from('<net name="tiny"/>'), weights: randomBytes(300_000) };
const entries = [
  { name: 'model.xml', role: 'xml' as const, data: model.xml },
  { name: 'model.bin', role: 'weights' as const, data: model.weights },
];
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describeTpm('containers sealed to TPM recipients', () => {
  const swtpm = useSwtpm();
  const otherTpm = useSwtpm();

  it('opens with each TPM identity alone (seal, ecdh, rsa) and refuses another TPM', async () => {
    const ecdh = await initDeviceKey({ tcti: swtpm.tcti, type: 'tpm-ecdh', handle: 0x81000100 });
    const rsa = await initDeviceKey({ tcti: swtpm.tcti, type: 'tpm-rsa', handle: 0x81000101 });
    const bytes = await sealToBuffer({
      entries,
      metadata: { name: 'tiny', version: '1' },
      recipients: [
        new TpmSealRecipient({ tcti: swtpm.tcti, pcrs: 'sha256:7' }),
        new TpmEcdhRecipient(ecdh.publicKeyPem),
        new TpmRsaRecipient(rsa.publicKeyPem),
      ],
    });
    expect((await inspect(bytes)).recipients.map((r) => r.type)).toEqual(['tpm-seal', 'tpm-ecdh', 'tpm-rsa']);
    for (const identity of [
      new TpmSealIdentity({ tcti: swtpm.tcti }),
      await tpmIdentityFromUri(ecdh.identityUri),
      await tpmIdentityFromUri(rsa.identityUri),
    ]) {
      const opened = await open(bytes, { identities: [identity] });
      expect(Buffer.from(opened.get('model.bin')).equals(model.weights)).toBe(true);
      opened.dispose();
    }
    const elsewhere = await initDeviceKey({ tcti: otherTpm.tcti, type: 'tpm-ecdh', handle: 0x81000100 });
    const strangers = [new TpmSealIdentity({ tcti: otherTpm.tcti }), await tpmIdentityFromUri(elsewhere.identityUri)];
    await expect(open(bytes, { identities: strangers })).rejects.toBeInstanceOf(NoMatchingKeyError);
  });

  it('adds a device key by rewrap, and reports a changed boot state as ERR_TPM_POLICY', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ovseal-tpm-container-'));
    dirs.push(dir);
    const path = join(dir, 'tiny.ovseal');
    // The publisher's own key: here a tpm-seal on the same TPM (any identity that opens the container will do).
    const publisher = new TpmSealIdentity({ tcti: swtpm.tcti });
    await seal({
      output: path,
      entries,
      metadata: { name: 'tiny', version: '2' },
      recipients: [new TpmSealRecipient({ tcti: swtpm.tcti, pcrs: 'sha256:0' })],
    });
    const device = await initDeviceKey({ tcti: swtpm.tcti, type: 'tpm-ecdh', handle: 0x81000110, pcrs: 'sha256:16' });
    const result = await rewrap(path, { identities: [publisher], add: [new TpmEcdhRecipient(device.publicKeyPem)] });
    expect(result.inPlace).toBe(true);
    const identity = await tpmIdentityFromUri(device.identityUri);
    const opened = await open(path, { identities: [identity] });
    expect(Buffer.from(opened.get('model.xml')).equals(model.xml)).toBe(true);
    opened.dispose();
    await extendPcr(swtpm.tcti, 16);
    const error = await open(path, { identities: [identity] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TpmError);
    expect(error).toMatchObject({ code: 'ERR_TPM_POLICY' });
  });
});
