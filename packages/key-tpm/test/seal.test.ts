import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { AuthenticationFailedError, InvalidArgumentError, type Stanza } from '@ovseal/container';
import { createStoragePrimary, TpmError, tpmIdentityFromUri, TpmSealIdentity, TpmSealRecipient } from '../src/index.js';
import { currentPcrPolicy } from '../src/lib/pcr-read.js';
import { parsePcrSelection } from '../src/lib/pcr.js';
import { withTempDir } from '../src/lib/temp-dir.js';
import { Tpm2Tools } from '../src/lib/tools.js';
import { dataKey, describeTpm, extendPcr, leftovers, newContext, useSwtpm } from './helpers.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

function flipByte(stanza: Stanza, offsetFromEnd: number): Stanza {
  const body = Uint8Array.from(stanza.body);
  body[body.length - offsetFromEnd]! ^= 0x01;
  return { ...stanza, body };
}

/** Unwraps in a new Node process (the built package), as a device does after a reboot. */
async function unwrapInFreshProcess(tcti: string, parent: string, stanzas: Stanza[], ctx: ReturnType<typeof newContext>): Promise<string> {
  const script = `
    import { createWrapContext } from '@ovseal/container';
    import { TpmSealIdentity } from '@ovseal/key-tpm';
    const input = JSON.parse(process.env.INPUT);
    const ctx = createWrapContext({ containerId: Buffer.from(input.containerId, 'hex'), modelName: input.modelName, modelVersion: input.modelVersion });
    const stanzas = input.stanzas.map((s) => ({ type: s.type, args: s.args, body: Buffer.from(s.body, 'base64') }));
    const key = await new TpmSealIdentity({ tcti: input.tcti, parent: input.parent }).unwrap(stanzas, ctx);
    process.stdout.write(Buffer.from(key).toString('hex'));
  `;
  const input = {
    tcti,
    parent,
    containerId: Buffer.from(ctx.containerId).toString('hex'),
    modelName: ctx.modelName,
    modelVersion: ctx.modelVersion,
    stanzas: stanzas.map((s) => ({ type: s.type, args: s.args, body: Buffer.from(s.body).toString('base64') })),
  };
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: packageDir,
    env: { ...process.env, INPUT: JSON.stringify(input) },
  });
  return stdout;
}

describeTpm('tpm-seal on swtpm', () => {
  const swtpm = useSwtpm();

  it('seals and unseals a data key under the owner-seed primary', async () => {
    const key = dataKey();
    const ctx = newContext();
    const stanzas = await new TpmSealRecipient({ tcti: swtpm.tcti }).wrap(key, ctx);
    expect(stanzas).toHaveLength(1);
    expect(stanzas[0]!.type).toBe('tpm-seal');
    expect(stanzas[0]!.args[0]).toBe('sha256:0,7');
    expect(stanzas[0]!.args[1]).toMatch(/^000b[0-9a-f]{64}$/);
    expect(await new TpmSealIdentity({ tcti: swtpm.tcti }).unwrap(stanzas, ctx)).toEqual(key);
    expect(await leftovers(swtpm.tcti)).toBe('');
  });

  it('computes the same PCR policy digest as tpm2_createpolicy', async () => {
    const tools = new Tpm2Tools({ tcti: swtpm.tcti });
    await withTempDir(async (dir) => {
      for (const text of ['sha256:0,7', 'sha256:16', 'sha1:0,1,2,3,23']) {
        const selection = parsePcrSelection(text);
        await tools.run('createpolicy', ['--policy-pcr', '-l', text, '-L', 'policy.bin', '-Q'], { cwd: dir });
        await tools.flushSessions(dir); // its trial session stays loaded otherwise
        expect((await currentPcrPolicy(tools, selection, dir)).toString('hex')).toBe(
          (await readFile(join(dir, 'policy.bin'))).toString('hex'),
        );
      }
    });
  });

  it('flushes after each use: many seals and unseals in a row fit the three object slots', async () => {
    const ctx = newContext();
    const recipient = new TpmSealRecipient({ tcti: swtpm.tcti, pcrs: 'sha256:7' });
    const identity = new TpmSealIdentity({ tcti: swtpm.tcti });
    for (let i = 0; i < 5; i++) {
      const key = dataKey();
      const stanzas = await recipient.wrap(key, ctx);
      for (let j = 0; j < 2; j++) expect(await identity.unwrap(stanzas, ctx)).toEqual(key);
    }
    expect(await leftovers(swtpm.tcti)).toBe('');
  });

  it('works under a persistent primary, and stanzas open under either parent form', async () => {
    const { handle, name } = await createStoragePrimary({ tcti: swtpm.tcti, handle: 0x81000001 });
    const key = dataKey();
    const ctx = newContext();
    const persistent = await new TpmSealRecipient({ tcti: swtpm.tcti, parent: handle }).wrap(key, ctx);
    expect(persistent[0]!.args[1]).toBe(name);
    const recreated = await new TpmSealRecipient({ tcti: swtpm.tcti, parent: 'owner' }).wrap(key, ctx);
    expect(recreated[0]!.args[1]).toBe(name);
    for (const stanzas of [persistent, recreated]) {
      expect(await new TpmSealIdentity({ tcti: swtpm.tcti, parent: handle }).unwrap(stanzas, ctx)).toEqual(key);
      expect(await new TpmSealIdentity({ tcti: swtpm.tcti }).unwrap(stanzas, ctx)).toEqual(key);
    }
    await expect(createStoragePrimary({ tcti: swtpm.tcti, handle })).rejects.toMatchObject({ code: 'ERR_TPM_HANDLE_IN_USE' });
    // The storage primary is no device key.
    await expect(tpmIdentityFromUri(`tpm:handle=${handle}?tcti=${swtpm.tcti}`)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('returns null for stanzas that are not tpm-seal or were sealed under another primary', async () => {
    const ctx = newContext();
    const [stanza] = await new TpmSealRecipient({ tcti: swtpm.tcti }).wrap(dataKey(), ctx);
    const identity = new TpmSealIdentity({ tcti: swtpm.tcti });
    expect(await identity.unwrap([{ type: 'file', args: ['x'], body: new Uint8Array(60) }], ctx)).toBeNull();
    expect(await identity.unwrap([{ ...stanza!, args: [stanza!.args[0]!, `000b${'00'.repeat(32)}`] }], ctx)).toBeNull();
  });

  it('rejects a tampered stanza or one moved to another container with AuthenticationFailedError', async () => {
    const key = dataKey();
    const ctx = newContext();
    const [stanza] = await new TpmSealRecipient({ tcti: swtpm.tcti }).wrap(key, ctx);
    const identity = new TpmSealIdentity({ tcti: swtpm.tcti });
    await expect(identity.unwrap([stanza!], newContext())).rejects.toBeInstanceOf(AuthenticationFailedError);
    await expect(identity.unwrap([flipByte(stanza!, 1)], ctx)).rejects.toBeInstanceOf(AuthenticationFailedError); // GCM tag
    await expect(identity.unwrap([flipByte(stanza!, 60)], ctx)).rejects.toBeInstanceOf(AuthenticationFailedError); // TPM private blob
    await expect(identity.unwrap([{ ...stanza!, body: stanza!.body.subarray(0, 20) }], ctx)).rejects.toBeInstanceOf(
      AuthenticationFailedError,
    );
    // Two stanzas for one TPM: neither is tried (one attempt per key, whatever the order).
    await expect(identity.unwrap([flipByte(stanza!, 1), stanza!], ctx)).rejects.toMatchObject({ code: 'ERR_MALFORMED_HEADER' });
    expect(await leftovers(swtpm.tcti)).toBe('');
  });

  it('unseals in a fresh process after a swtpm restart (persistent and recreated primary)', async () => {
    const key = dataKey();
    const ctx = newContext('restart', '1');
    const byParent = {
      '0x81000001': await new TpmSealRecipient({ tcti: swtpm.tcti, parent: '0x81000001' }).wrap(key, ctx),
      owner: await new TpmSealRecipient({ tcti: swtpm.tcti, parent: 'owner' }).wrap(key, ctx),
    };
    await swtpm.tpm.restart();
    for (const [parent, stanzas] of Object.entries(byParent)) {
      expect(await unwrapInFreshProcess(swtpm.tcti, parent, stanzas, ctx)).toBe(Buffer.from(key).toString('hex'));
    }
    // This process cached the owner primary's saved context from before the reset: it recovers.
    expect(await new TpmSealIdentity({ tcti: swtpm.tcti }).unwrap(byParent.owner, ctx)).toEqual(key);
    expect(await leftovers(swtpm.tcti)).toBe('');
  });

  it('fails with ERR_TPM_POLICY after a PCR extend', async () => {
    const key = dataKey();
    const ctx = newContext();
    const stanzas = await new TpmSealRecipient({ tcti: swtpm.tcti, pcrs: 'sha256:0,7' }).wrap(key, ctx);
    const identity = new TpmSealIdentity({ tcti: swtpm.tcti });
    expect(await identity.unwrap(stanzas, ctx)).toEqual(key);
    await extendPcr(swtpm.tcti, 7);
    const error = await identity.unwrap(stanzas, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TpmError);
    expect(error).toMatchObject({ code: 'ERR_TPM_POLICY', tool: 'tpm2_unseal' });
    expect((error as TpmError).hint).toMatch(/PCR/);
    // Sealing again in the new state works.
    const resealed = await new TpmSealRecipient({ tcti: swtpm.tcti }).wrap(key, ctx);
    expect(await identity.unwrap(resealed, ctx)).toEqual(key);
    expect(await leftovers(swtpm.tcti)).toBe('');
  });
});
