import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TpmError, TpmSealIdentity, TpmSealRecipient } from '../src/index.js';
import { checkSwtpmPrerequisites, startSwtpm } from '../src/testing.js';
import { responseCodeOf } from '../src/lib/response-code.js';
import { Tpm2Tools } from '../src/lib/tools.js';
import { assertPrerequisites, dataKey, describeTpm, newContext } from './helpers.js';

const ESYS_POLICY_FAIL = `WARNING:esys:src/tss2-esys/api/Esys_Unseal.c:295:Esys_Unseal_Finish() Received TPM Error
ERROR:esys:src/tss2-esys/api/Esys_Unseal.c:98:Esys_Unseal() Esys Finish ErrorCode (0x0000099d)
ERROR: Esys_Unseal(0x99D) - tpm:session(1):a policy check failed
ERROR: Unable to run tpm2_unseal`;

describe('the shim without tpm2-tools', () => {
  let emptyDir: string;
  let savedPath: string | undefined;
  beforeAll(async () => {
    emptyDir = await mkdtemp(join(tmpdir(), 'ovseal-no-tools-'));
    savedPath = process.env['PATH'];
  });
  afterAll(async () => {
    process.env['PATH'] = savedPath;
    await rm(emptyDir, { recursive: true, force: true });
  });

  it('throws ERR_TPM_TOOLS_MISSING with an install hint when tpm2-tools are not on the PATH', async () => {
    process.env['PATH'] = emptyDir;
    try {
      const error = await new TpmSealRecipient({ tcti: 'swtpm:host=127.0.0.1,port=9' })
        .wrap(dataKey(), newContext())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TpmError);
      expect(error).toMatchObject({ code: 'ERR_TPM_TOOLS_MISSING' });
      expect((error as TpmError).hint).toMatch(/apt-get install tpm2-tools/);
      expect(checkSwtpmPrerequisites().ok).toBe(false);
      expect(checkSwtpmPrerequisites().message).toMatch(/apt-get install swtpm swtpm-tools tpm2-tools/);
      await expect(startSwtpm()).rejects.toMatchObject({ code: 'ERR_TPM_TOOLS_MISSING' });
    } finally {
      process.env['PATH'] = savedPath;
    }
  });

  it('reads the TPM response code from the tools output', () => {
    expect(responseCodeOf(ESYS_POLICY_FAIL)).toBe(0x99d);
    expect(responseCodeOf('ERROR: Esys_TR_FromTPMPublic(0x18B) - tpm:handle(1):the handle is not correct for the use')).toBe(0x18b);
    expect(responseCodeOf('mu:A buffer (0x00090006) ErrorCode (0x00090006)\nEsys_Load(0x1DF)')).toBe(0x1df);
    expect(responseCodeOf('nothing here')).toBeUndefined();
  });
});

/** Accepts connections and never answers: a hung TPM. */
async function silentServer(port: number): Promise<Server | null> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

describeTpm('the shim against a TPM that is not there or does not answer', () => {
  beforeAll(() => assertPrerequisites());

  it('throws ERR_TPM_UNREACHABLE when nothing listens on the TCTI port', async () => {
    const probe = await silentServer(0);
    const port = (probe!.address() as { port: number }).port;
    await new Promise((resolve) => probe!.close(resolve)); // now nothing listens there
    const error = await new TpmSealIdentity({ tcti: `swtpm:host=127.0.0.1,port=${port}` })
      .unwrap([{ type: 'tpm-seal', args: ['sha256:7', '00'], body: new Uint8Array(8) }], newContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TpmError);
    expect(error).toMatchObject({ code: 'ERR_TPM_UNREACHABLE', tool: 'tpm2_createprimary' });
    expect((error as TpmError).hint).toMatch(/TCTI/);
    await expect(new Tpm2Tools({ tcti: 'device:/nonexistent/tpmrm0' }).run('getrandom', ['8'])).rejects.toMatchObject({
      code: 'ERR_TPM_UNREACHABLE',
    });
  });

  it('throws ERR_TPM_TIMEOUT when the TPM does not answer within the timeout', async () => {
    let servers: (Server | null)[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      const first = await silentServer(0);
      const port = (first!.address() as { port: number }).port;
      const second = await silentServer(port + 1);
      servers = [first, second];
      if (second) break;
      first!.close();
    }
    const port = (servers[0]!.address() as { port: number }).port;
    try {
      const tools = new Tpm2Tools({ tcti: `swtpm:host=127.0.0.1,port=${port}`, timeoutMs: 1500 });
      const error = await tools.run('getrandom', ['8']).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_TPM_TIMEOUT', tool: 'tpm2_getrandom' });
      await expect(new TpmSealRecipient({ tcti: tools.tcti!, timeoutMs: 1500 }).wrap(dataKey(), newContext())).rejects.toMatchObject({
        code: 'ERR_TPM_TIMEOUT',
      });
    } finally {
      servers.forEach((server) => server?.close());
    }
  });
});
