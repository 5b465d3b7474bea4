import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthenticationFailedError, InvalidArgumentError } from '@ovseal/container';
import {
  deviceKeyId,
  initDeviceKey,
  TpmEcdhIdentity,
  TpmEcdhRecipient,
  TpmError,
  tpmIdentityFromUri,
  tpmRecipientFromUri,
  TpmRsaIdentity,
  TpmRsaRecipient,
  type DeviceKeyType,
} from '../src/index.js';
import { withTempDir } from '../src/lib/temp-dir.js';
import { Tpm2Tools } from '../src/lib/tools.js';
import { parseTpmPublic } from '../src/lib/tpm-public.js';
import { dataKey, describeTpm, extendPcr, leftovers, newContext, useSwtpm } from './helpers.js';

const RecipientOf = { 'tpm-ecdh': TpmEcdhRecipient, 'tpm-rsa': TpmRsaRecipient } as const;
const IdentityOf = { 'tpm-ecdh': TpmEcdhIdentity, 'tpm-rsa': TpmRsaIdentity } as const;
const HANDLES = { 'tpm-ecdh': 0x81000100, 'tpm-rsa': 0x81000101 } as const;

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ovseal-tpm-test-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeTpm.each(['tpm-ecdh', 'tpm-rsa'] as const)('%s device key on swtpm', (type: DeviceKeyType) => {
  const swtpm = useSwtpm();

  it('wraps with the public key alone and unwraps inside the TPM, many times in a row', async () => {
    const info = await initDeviceKey({ tcti: swtpm.tcti, type, handle: HANDLES[type] });
    expect(info).toMatchObject({ type, handle: `0x${HANDLES[type].toString(16)}`, parent: 'owner', pcrs: null });
    expect(info.keyId).toBe(deviceKeyId(info.publicKeyPem));
    expect(info.identityUri).toBe(`tpm:handle=0x${HANDLES[type].toString(16)}?tcti=${swtpm.tcti}`);

    // The sealing side (the key broker) has only the PEM: no TPM, no TCTI.
    const recipient = new RecipientOf[type](info.publicKeyPem);
    expect(recipient.keyId).toBe(info.keyId);
    const identity = await tpmIdentityFromUri(info.identityUri);
    expect(identity).toBeInstanceOf(IdentityOf[type]);
    for (let i = 0; i < 6; i++) {
      const key = dataKey();
      const ctx = newContext('model', String(i));
      const stanzas = await recipient.wrap(key, ctx);
      expect(stanzas).toHaveLength(1);
      expect(stanzas[0]).toMatchObject({ type, args: [info.keyId] });
      expect(recipient.describes(stanzas[0]!)).toBe(true);
      expect(await identity.unwrap(stanzas, ctx)).toEqual(key);
    }
    expect(await leftovers(swtpm.tcti)).toBe('');
  });

  it('keeps the key in a directory of TPM-encrypted blobs instead of a handle', async () => {
    const keyDir = join(await tempDir(), 'device-key');
    const info = await initDeviceKey({ tcti: swtpm.tcti, type, keyDir });
    expect(info.identityUri).toBe(`tpm:dir=${keyDir}?tcti=${swtpm.tcti}`);
    expect((await readFile(join(keyDir, 'public.pem'), 'utf8')).trim()).toBe(info.publicKeyPem.trim());
    const identity = await IdentityOf[type].open({ keyDir }, { tcti: swtpm.tcti });
    expect(identity.keyId).toBe(info.keyId);
    const recipient = tpmRecipientFromUri(info.recipientUri);
    for (let i = 0; i < 4; i++) {
      const key = dataKey();
      const ctx = newContext();
      expect(await identity.unwrap(await recipient.wrap(key, ctx), ctx)).toEqual(key);
    }
    expect(await leftovers(swtpm.tcti)).toBe('');
    await expect(initDeviceKey({ tcti: swtpm.tcti, type, keyDir })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('binds a key to PCRs: ERR_TPM_POLICY after an extend, works again after a reset of the PCR', async () => {
    const handle = HANDLES[type] + 0x10;
    const info = await initDeviceKey({ tcti: swtpm.tcti, type, handle, pcrs: 'sha256:16' });
    expect(info.identityUri).toContain('pcrs=sha256:16');
    // Without the PCR selection, the identity cannot satisfy the key's policy: it says so up front.
    await expect(tpmIdentityFromUri(`tpm:handle=0x${handle.toString(16)}?tcti=${swtpm.tcti}`)).rejects.toBeInstanceOf(InvalidArgumentError);
    const identity = await tpmIdentityFromUri(info.identityUri);
    const recipient = tpmRecipientFromUri(info.recipientUri);
    const key = dataKey();
    const ctx = newContext();
    const stanzas = await recipient.wrap(key, ctx);
    for (let i = 0; i < 4; i++) expect(await identity.unwrap(stanzas, ctx)).toEqual(key);

    await extendPcr(swtpm.tcti, 16);
    const error = await identity.unwrap(stanzas, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TpmError);
    expect(error).toMatchObject({ code: 'ERR_TPM_POLICY' });
    expect(await leftovers(swtpm.tcti)).toBe('');

    await new Tpm2Tools({ tcti: swtpm.tcti }).run('pcrreset', ['16']);
    expect(await identity.unwrap(stanzas, ctx)).toEqual(key);
  });

  it('returns null for other key ids; a forged stanza with this key id fails typed', async () => {
    const identity = await IdentityOf[type].open({ handle: HANDLES[type] }, { tcti: swtpm.tcti });
    const ctx = newContext();
    const other =
      type === 'tpm-ecdh'
        ? new TpmEcdhRecipient(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey)
        : new TpmRsaRecipient(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey);
    const [foreign] = await other.wrap(dataKey(), ctx);
    expect(await identity.unwrap([foreign!], ctx)).toBeNull();
    expect(await identity.unwrap([{ type: 'file', args: [identity.keyId], body: new Uint8Array(60) }], ctx)).toBeNull();

    // The same body under this key's id: the TPM computes garbage, the wrap does not authenticate.
    await expect(identity.unwrap([{ ...foreign!, args: [identity.keyId] }], ctx)).rejects.toBeInstanceOf(AuthenticationFailedError);
    await expect(identity.unwrap([{ ...foreign!, args: [identity.keyId], body: randomBytes(7) }], ctx)).rejects.toBeInstanceOf(
      AuthenticationFailedError,
    );

    // A genuine stanza moved to another container (another context) fails the same way.
    const [genuine] = await new RecipientOf[type](identity.publicKeyPem).wrap(dataKey(), ctx);
    await expect(identity.unwrap([genuine!], newContext())).rejects.toBeInstanceOf(AuthenticationFailedError);
    expect(await leftovers(swtpm.tcti)).toBe('');
  });

  it('refuses to overwrite a persistent handle unless told to replace it', async () => {
    const error = await initDeviceKey({ tcti: swtpm.tcti, type, handle: HANDLES[type] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_TPM_HANDLE_IN_USE' });
    const before = await IdentityOf[type].open({ handle: HANDLES[type] }, { tcti: swtpm.tcti });
    const replaced = await initDeviceKey({ tcti: swtpm.tcti, type, handle: HANDLES[type], replace: true });
    expect(replaced.keyId).not.toBe(before.keyId);
  });

  it('reads public areas and names objects as the TPM does', async () => {
    const tools = new Tpm2Tools({ tcti: swtpm.tcti });
    await withTempDir(async (dir) => {
      const printed = (await tools.run('readpublic', ['-c', `0x${HANDLES[type].toString(16)}`, '-o', 'key.pub'], { cwd: dir })).toString();
      const parsed = parseTpmPublic(await readFile(join(dir, 'key.pub')));
      expect(printed).toContain(`name: ${parsed.name.toString('hex')}`);
      const identity = await IdentityOf[type].open({ handle: HANDLES[type] }, { tcti: swtpm.tcti });
      expect(parsed.key!.export({ type: 'spki', format: 'pem' })).toBe(identity.publicKeyPem);
    });
  });

  it('reports a missing key as ERR_TPM_OBJECT_NOT_FOUND', async () => {
    await expect(IdentityOf[type].open({ handle: 0x81000fff }, { tcti: swtpm.tcti })).rejects.toMatchObject({
      code: 'ERR_TPM_OBJECT_NOT_FOUND',
    });
  });
});

describe('device key recipients from URIs', () => {
  it('accepts a PEM file, base64 SPKI DER and PEM text, and checks the key type', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const file = join(await tempDir(), 'device.pem');
    await writeFile(file, pem);
    const expectedId = createHash('sha256').update(der).digest('hex');
    for (const uri of [`tpm-ecdh:${file}`, `tpm-ecdh:${der.toString('base64')}`, `tpm-ecdh:${pem}`]) {
      expect((tpmRecipientFromUri(uri) as TpmEcdhRecipient).keyId).toBe(expectedId);
    }
    expect(() => tpmRecipientFromUri(`tpm-rsa:${file}`)).toThrow(InvalidArgumentError);
    expect(() => tpmRecipientFromUri('tpm-ecdh:')).toThrow(InvalidArgumentError);
    expect(() => tpmRecipientFromUri('tpm-ecdh:not a key!')).toThrow(InvalidArgumentError);
    expect(() => tpmRecipientFromUri('age:abc')).toThrow(InvalidArgumentError);
    expect(() => new TpmRsaRecipient(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey)).toThrow(InvalidArgumentError);
  });
});
