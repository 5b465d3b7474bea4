// Issue 10 item 11: a crafted header with 63 stanzas for one TPM key made 63 TPM operations (6.4 s
// on swtpm), no key needed. Each identity now tries at most one stanza per key, and none of a key
// that several stanzas name. The TPM work is counted on the tool runner itself.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Identity, Stanza } from '@ovseal/container';
import {
  initDeviceKey,
  SoftwareEcdhIdentity,
  TpmEcdhIdentity,
  TpmEcdhRecipient,
  TpmRsaIdentity,
  TpmRsaRecipient,
  TpmSealIdentity,
  TpmSealRecipient,
} from '../src/index.js';
import { Tpm2Tools } from '../src/lib/tools.js';
import { dataKey, describeTpm, newContext, useSwtpm } from './helpers.js';

/** 63 copies of a stanza with its body garbled: what anyone can write into a header of their own. */
function forgedCopies(stanza: Stanza): Stanza[] {
  return Array.from({ length: 63 }, (_, i) => ({ ...stanza, body: Uint8Array.from(stanza.body).fill(i + 1, stanza.body.length - 40) }));
}

async function expectDuplicateRefused(identity: Identity, stanzas: Stanza[], context: ReturnType<typeof newContext>): Promise<void> {
  await expect(identity.unwrap(stanzas, context)).rejects.toMatchObject({
    code: 'ERR_MALFORMED_HEADER',
    message: expect.stringMatching(/63 recipient stanzas .*same key/),
  });
}

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
afterEach(() => vi.restoreAllMocks());

describe('software tpm-ecdh identity', () => {
  it('63 stanzas for its key: refused with a typed error', async () => {
    const identity = new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const context = newContext();
    const [genuine] = await new TpmEcdhRecipient(identity.publicKeyPem).wrap(dataKey(), context);
    await expectDuplicateRefused(identity, [...forgedCopies(genuine!).slice(1), genuine!], context);
  });
});

describeTpm('TPM identities on swtpm', () => {
  const swtpm = useSwtpm();

  function countTools(): string[] {
    const runs: string[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its `this` below
    const run = Tpm2Tools.prototype.run;
    vi.spyOn(Tpm2Tools.prototype, 'run').mockImplementation(function (this: Tpm2Tools, name, args, options) {
      runs.push(name);
      return run.call(this, name, args, options);
    });
    return runs;
  }

  it.each([
    ['tpm-ecdh', TpmEcdhRecipient, TpmEcdhIdentity, 'ecdhzgen'],
    ['tpm-rsa', TpmRsaRecipient, TpmRsaIdentity, 'rsadecrypt'],
  ] as const)('%s: 63 stanzas for the device key cost no TPM decryption', async (type, Recipient, Identity, tool) => {
    const dir = await mkdtemp(join(tmpdir(), 'ovseal-tpm-dup-'));
    dirs.push(dir);
    const info = await initDeviceKey({ tcti: swtpm.tcti, type, keyDir: join(dir, 'key') });
    const identity = await Identity.open({ keyDir: info.keyDir! }, { tcti: swtpm.tcti });
    const context = newContext();
    const [genuine] = await new Recipient(info.publicKeyPem).wrap(dataKey(), context);
    const runs = countTools();
    await expectDuplicateRefused(identity, forgedCopies(genuine!), context);
    expect(runs.filter((name) => name === tool)).toEqual([]);
  });

  it('tpm-seal: 63 stanzas for this TPM cost no load or unseal', async () => {
    const context = newContext();
    const [genuine] = await new TpmSealRecipient({ tcti: swtpm.tcti, pcrs: 'sha256:7' }).wrap(dataKey(), context);
    // Varying the PCR selection does not make the stanzas another key: the key is the TPM's parent.
    const copies = forgedCopies(genuine!).map((stanza, i) => ({ ...stanza, args: [`sha256:${i % 24}`, stanza.args[1]!] }));
    const runs = countTools();
    await expectDuplicateRefused(new TpmSealIdentity({ tcti: swtpm.tcti }), copies, context);
    expect(runs.filter((name) => name === 'load' || name === 'unseal')).toEqual([]);
  });

  it('tpm-seal: seal refuses two seals to the same TPM in one container (a reader would try neither)', async () => {
    const { sealToBuffer } = await import('@ovseal/container');
    const recipients = [
      new TpmSealRecipient({ tcti: swtpm.tcti, pcrs: 'sha256:7' }),
      new TpmSealRecipient({ tcti: swtpm.tcti, pcrs: 'sha256:0,7' }),
    ];
    await expect(
      sealToBuffer({ entries: [{ name: 'a', role: 'aux', data: new Uint8Array(1) }], metadata: { name: 'm', version: '1' }, recipients }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });
});
