import { expect, it } from 'vitest';
import { AuthenticationFailedError, type Stanza } from '@ovseal/container';
import {
  initDeviceKey,
  tpmIdentityFromUri,
  tpmRecipientFromUri,
  TpmSealIdentity,
  TpmSealRecipient,
  type DeviceKeyInfo,
} from '../src/index.js';
import { dataKey, describeTpm, leftovers, newContext, useSwtpm } from './helpers.js';

describeTpm('two TPMs: a key on one cannot unwrap for the other', () => {
  const a = useSwtpm();
  const b = useSwtpm();

  for (const type of ['tpm-ecdh', 'tpm-rsa'] as const) {
    it(`${type}: the other TPM returns null, and a forged stanza with its key id fails typed`, async () => {
      // Same handle on both TPMs, different keys.
      const onA: DeviceKeyInfo = await initDeviceKey({ tcti: a.tcti, type, handle: 0x81000100 + (type === 'tpm-rsa' ? 1 : 0) });
      const onB: DeviceKeyInfo = await initDeviceKey({ tcti: b.tcti, type, handle: 0x81000100 + (type === 'tpm-rsa' ? 1 : 0) });
      expect(onA.keyId).not.toBe(onB.keyId);
      const identityA = await tpmIdentityFromUri(onA.identityUri);
      const identityB = await tpmIdentityFromUri(onB.identityUri);
      const key = dataKey();
      const ctx = newContext();
      const forB = await tpmRecipientFromUri(onB.recipientUri).wrap(key, ctx);

      expect(await identityA.unwrap(forB, ctx)).toBeNull();
      expect(await identityB.unwrap(forB, ctx)).toEqual(key);
      const forged: Stanza[] = forB.map((stanza) => ({ ...stanza, args: [onA.keyId] }));
      await expect(identityA.unwrap(forged, ctx)).rejects.toBeInstanceOf(AuthenticationFailedError);
      expect(await leftovers(a.tcti)).toBe('');
    });
  }

  it('tpm-seal: stanzas sealed on the other TPM are not ours; relabelled ones do not load', async () => {
    const key = dataKey();
    const ctx = newContext();
    const sealedOnB = await new TpmSealRecipient({ tcti: b.tcti }).wrap(key, ctx);
    const sealedOnA = await new TpmSealRecipient({ tcti: a.tcti }).wrap(key, ctx);
    const identityA = new TpmSealIdentity({ tcti: a.tcti });
    expect(await identityA.unwrap(sealedOnB, ctx)).toBeNull();
    expect(await identityA.unwrap([...sealedOnB, ...sealedOnA], ctx)).toEqual(key);
    const relabelled = sealedOnB.map((stanza) => ({ ...stanza, args: [stanza.args[0]!, sealedOnA[0]!.args[1]!] }));
    await expect(identityA.unwrap(relabelled, ctx)).rejects.toBeInstanceOf(AuthenticationFailedError);
    expect(await leftovers(a.tcti)).toBe('');
  });
});
