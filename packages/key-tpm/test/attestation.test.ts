// Remote attestation on swtpm: every construction checked against the real TPM (libtpms) and
// tpm2-tools, never only against this code. Three TPMs: A and B manufactured by one local CA
// (swtpm_setup + swtpm_localca), C by another.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  AttestationError,
  AttestationKey,
  initAttestationKey,
  initDeviceKey,
  makeCredential,
  parseAttestationKey,
  parseEndorsementKey,
  readEndorsementKey,
  TpmError,
  verifyEkCertificate,
  verifyQuote,
  type EndorsementKeyInfo,
} from '../src/index.js';
import { startSwtpm, type SwtpmInstance } from '../src/testing.js';
import { Tpm2Tools } from '../src/lib/tools.js';
import { assertPrerequisites, describeTpm, extendPcr, leftovers } from './helpers.js';

const RSA_EK = { handle: 0x81010001, certificateIndex: 0x01c00002 };
const P384_EK = { handle: 0x81010016, certificateIndex: 0x01c00016 };
const P256_EK_HANDLE = 0x81010002;

interface Tpm {
  readonly swtpm: SwtpmInstance;
  readonly tools: Tpm2Tools;
  readonly ak: AttestationKey;
  readonly rsaEk: EndorsementKeyInfo;
  readonly p384Ek: EndorsementKeyInfo;
}

function rejectsWith(code: string, fn: () => unknown): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(AttestationError);
  expect((thrown as AttestationError).code).toBe(code);
}

describeTpm('TPM attestation on swtpm (EK certificates, credential activation, quotes)', () => {
  let work: string;
  let a: Tpm;
  let b: Tpm;
  let c: Tpm;

  async function manufacture(caDir: string): Promise<Tpm> {
    const swtpm = await startSwtpm({ endorsement: { caDir } });
    const options = { tcti: swtpm.tcti };
    return {
      swtpm,
      tools: new Tpm2Tools(options),
      ak: await initAttestationKey(options),
      rsaEk: await readEndorsementKey({ ...options, ...RSA_EK }),
      p384Ek: await readEndorsementKey({ ...options, ...P384_EK }),
    };
  }

  beforeAll(async () => {
    assertPrerequisites();
    work = await mkdtemp(join(tmpdir(), 'ovseal-attest-test-'));
    a = await manufacture(join(work, 'ca-1'));
    b = await manufacture(join(work, 'ca-1'));
    c = await manufacture(join(work, 'ca-2'));
  });

  afterAll(async () => {
    await Promise.all([a, b, c].map((tpm) => tpm?.swtpm.close()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** The name the TPM itself reports for an object (tpm2_readpublic), to check ours against. */
  async function nameByTpm(tpm: Tpm, handle: string): Promise<string> {
    return /^name: ([0-9a-f]+)$/m.exec((await tpm.tools.run('readpublic', ['-c', handle])).toString())![1]!;
  }

  it('computes the names the TPM computes (EK and AK)', async () => {
    expect(a.ak.name.toString('hex')).toBe(await nameByTpm(a, a.ak.handle));
    expect(parseAttestationKey(a.ak.publicArea).name.toString('hex')).toBe(await nameByTpm(a, a.ak.handle));
    expect(parseEndorsementKey(a.rsaEk.publicArea).name.toString('hex')).toBe(await nameByTpm(a, '0x81010001'));
    expect(parseEndorsementKey(a.p384Ek.publicArea).name.toString('hex')).toBe(await nameByTpm(a, '0x81010016'));
  });

  it('EK certificates from swtpm_setup chain to their manufacturer CA and certify that EK', () => {
    for (const ek of [a.rsaEk, a.p384Ek]) {
      const info = verifyEkCertificate(ek.certificate!, parseEndorsementKey(ek.publicArea), [a.swtpm.endorsementCaPem!]);
      expect(info).toMatchObject({ issuer: 'CN=swtpm-localca', anchor: 'CN=swtpm-localca' });
    }
    expect(parseEndorsementKey(a.rsaEk.publicArea).type).toBe('rsa');
    expect(parseEndorsementKey(a.p384Ek.publicArea).type).toBe('ecc');
  });

  it('refuses an EK certificate from an untrusted CA, one for another EK, and one outside its validity', () => {
    const ekC = parseEndorsementKey(c.rsaEk.publicArea);
    // Same CA names, other keys: the signature decides.
    rejectsWith('ERR_ATTEST_EK_CERTIFICATE', () => verifyEkCertificate(c.rsaEk.certificate!, ekC, [a.swtpm.endorsementCaPem!]));
    rejectsWith('ERR_ATTEST_EK_CERTIFICATE', () =>
      verifyEkCertificate(b.rsaEk.certificate!, parseEndorsementKey(a.rsaEk.publicArea), [a.swtpm.endorsementCaPem!]),
    );
    rejectsWith('ERR_ATTEST_EK_CERTIFICATE', () =>
      verifyEkCertificate(
        a.rsaEk.certificate!,
        parseEndorsementKey(a.rsaEk.publicArea),
        [a.swtpm.endorsementCaPem!],
        new Date('2001-01-01'),
      ),
    );
    rejectsWith('ERR_ATTEST_EK_CERTIFICATE', () =>
      verifyEkCertificate(randomBytes(300), parseEndorsementKey(a.rsaEk.publicArea), [a.swtpm.endorsementCaPem!]),
    );
    // The EK certificate itself is no CA.
    const leafPem = `-----BEGIN CERTIFICATE-----\n${b.rsaEk.certificate!.toString('base64')}\n-----END CERTIFICATE-----\n`;
    rejectsWith('ERR_ATTEST_EK_CERTIFICATE', () =>
      verifyEkCertificate(a.rsaEk.certificate!, parseEndorsementKey(a.rsaEk.publicArea), [leafPem]),
    );
  });

  it('makeCredential (RSA 2048 EK, OAEP) is activated by the TPM', async () => {
    const secret = randomBytes(32);
    const credential = makeCredential(parseEndorsementKey(a.rsaEk.publicArea), a.ak.name, secret);
    expect(await a.ak.activateCredential(credential, RSA_EK.handle)).toEqual(secret);
    expect(await leftovers(a.swtpm.tcti)).toBe('');
  });

  it('makeCredential (ECC P-384 EK: ECDH, KDFe, SHA-384, AES-256) is activated by the TPM', async () => {
    const secret = randomBytes(32);
    expect(await a.ak.activateCredential(makeCredential(a.p384Ek.publicArea, a.ak.name, secret), P384_EK.handle)).toEqual(secret);
  });

  it('makeCredential (ECC P-256 EK from tpm2_createek, TCG template with a policy) is activated by the TPM', async () => {
    await a.tools.run('createek', ['-c', `0x${P256_EK_HANDLE.toString(16)}`, '-G', 'ecc', '-Q']);
    const ek = await readEndorsementKey({ tcti: a.swtpm.tcti, handle: P256_EK_HANDLE });
    const parsed = parseEndorsementKey(ek.publicArea);
    expect(parsed.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const secret = randomBytes(20);
    expect(await a.ak.activateCredential(makeCredential(parsed, a.ak.name, secret), P256_EK_HANDLE)).toEqual(secret);
    expect(await leftovers(a.swtpm.tcti)).toBe('');
  });

  it("activates a credential tpm2_makecredential made (the tools' file format and ours agree)", async () => {
    const dir = await mkdtemp(join(work, 'makecred-'));
    const secret = randomBytes(32);
    await writeFile(join(dir, 'ek.pub'), a.rsaEk.publicArea);
    await writeFile(join(dir, 'secret.bin'), secret);
    await a.tools.run(
      'makecredential',
      ['-T', 'none', '-u', 'ek.pub', '-s', 'secret.bin', '-n', a.ak.name.toString('hex'), '-o', 'cred.out'],
      { cwd: dir },
    );
    const file = await readFile(join(dir, 'cred.out'));
    const idSize = file.readUInt16BE(8);
    const credential = { idObject: file.subarray(8, 10 + idSize), encryptedSecret: file.subarray(10 + idSize) };
    expect(await a.ak.activateCredential(credential, RSA_EK.handle)).toEqual(secret);
  });

  it("the TPM refuses a credential made for another AK, or for another TPM's EK", async () => {
    const secret = randomBytes(32);
    const forOtherAk = makeCredential(a.rsaEk.publicArea, b.ak.name, secret);
    await expect(a.ak.activateCredential(forOtherAk, RSA_EK.handle)).rejects.toBeInstanceOf(TpmError);
    const forOtherEk = makeCredential(b.rsaEk.publicArea, a.ak.name, secret);
    await expect(a.ak.activateCredential(forOtherEk, RSA_EK.handle)).rejects.toBeInstanceOf(TpmError);
    expect(await leftovers(a.swtpm.tcti)).toBe('');
  });

  it('verifies a quote: signature, nonce, selection, and the values tpm2_pcrread reports; after an extend too', async () => {
    const nonce = randomBytes(32);
    const quote = await a.ak.quote('sha256:0,7', nonce);
    const verified = verifyQuote({ ak: a.ak.publicArea, ...quote, qualifyingData: nonce });
    expect(verified.pcrs).toBe('sha256:0,7');
    expect([...verified.values.keys()]).toEqual([0, 7]);
    await extendPcr(a.swtpm.tcti, 7);
    const dir = await mkdtemp(join(work, 'pcrread-'));
    await a.tools.run('pcrread', ['-Q', '-o', 'pcrs.bin', 'sha256:0,7'], { cwd: dir });
    const afterExtend = verifyQuote({ ak: a.ak.public, ...(await a.ak.quote('sha256:0,7', nonce)), qualifyingData: nonce });
    expect(Buffer.concat([afterExtend.values.get(0)!, afterExtend.values.get(7)!])).toEqual(await readFile(join(dir, 'pcrs.bin')));
    expect(afterExtend.values.get(0)).toEqual(verified.values.get(0));
    expect(afterExtend.values.get(7)).not.toEqual(verified.values.get(7));
    expect(afterExtend.resetCount).toBe(verified.resetCount);
    expect(afterExtend.clock >= verified.clock).toBe(true);
  });

  it("refuses a quote from another TPM's AK, for another nonce, or over other PCRs", async () => {
    const nonce = randomBytes(32);
    const fromB = await b.ak.quote('sha256:0,7', nonce);
    rejectsWith('ERR_ATTEST_SIGNATURE', () => verifyQuote({ ak: a.ak.publicArea, ...fromB, qualifyingData: nonce }));
    const quote = await a.ak.quote('sha256:0,7', nonce);
    rejectsWith('ERR_ATTEST_NONCE', () => verifyQuote({ ak: a.ak.publicArea, ...quote, qualifyingData: randomBytes(32) }));
    rejectsWith('ERR_ATTEST_PCR_SELECTION', () =>
      verifyQuote({ ak: a.ak.publicArea, ...quote, pcrs: 'sha256:0,1,7', qualifyingData: nonce }),
    );
  });

  it('refuses a corrupted quote, signature or PCR values with a typed error', async () => {
    const nonce = randomBytes(32);
    const quote = await a.ak.quote('sha256:0,7', nonce);
    const flip = (bytes: Buffer, at: number) => {
      const copy = Buffer.from(bytes);
      copy[at]! ^= 1;
      return copy;
    };
    const check = (change: Partial<typeof quote>) => () => verifyQuote({ ak: a.ak.publicArea, ...quote, ...change, qualifyingData: nonce });
    rejectsWith('ERR_ATTEST_SIGNATURE', check({ attest: flip(quote.attest, quote.attest.length - 1) }));
    rejectsWith('ERR_ATTEST_SIGNATURE', check({ attest: flip(quote.attest, 0) }));
    rejectsWith('ERR_ATTEST_SIGNATURE', check({ signature: flip(quote.signature, quote.signature.length - 3) }));
    rejectsWith('ERR_ATTEST_MALFORMED', check({ signature: quote.signature.subarray(0, 20) }));
    rejectsWith('ERR_ATTEST_MALFORMED', check({ signature: Buffer.concat([quote.signature, Buffer.alloc(1)]) }));
    rejectsWith('ERR_ATTEST_PCR_DIGEST', check({ pcrValues: flip(quote.pcrValues, 40) }));
    rejectsWith('ERR_ATTEST_MALFORMED', check({ pcrValues: quote.pcrValues.subarray(0, 32) }));
  });

  it('refuses a structure the AK signed that is not a quote (TPM2_Certify)', async () => {
    const dir = await mkdtemp(join(work, 'certify-'));
    await a.tools.run(
      'certify',
      ['-c', a.ak.handle, '-C', a.ak.handle, '-g', 'sha256', '-o', 'attest.bin', '-s', 'sig.bin', '-f', 'tss', '-Q'],
      { cwd: dir },
    );
    const [attest, signature] = await Promise.all([readFile(join(dir, 'attest.bin')), readFile(join(dir, 'sig.bin'))]);
    rejectsWith('ERR_ATTEST_NOT_QUOTE', () =>
      verifyQuote({
        ak: a.ak.publicArea,
        attest,
        signature,
        qualifyingData: Buffer.alloc(0),
        pcrs: 'sha256:0',
        pcrValues: Buffer.alloc(32),
      }),
    );
  });

  it('counts TPM resets in quotes (the AK is in the endorsement hierarchy: counters in clear)', async () => {
    const nonce = randomBytes(16);
    const before = verifyQuote({ ak: c.ak.publicArea, ...(await c.ak.quote('sha256:7', nonce)), qualifyingData: nonce });
    await c.swtpm.restart();
    const reopened = await AttestationKey.open(c.ak.handle, { tcti: c.swtpm.tcti });
    const after = verifyQuote({ ak: reopened.publicArea, ...(await reopened.quote('sha256:7', nonce)), qualifyingData: nonce });
    expect(after.resetCount).toBe(before.resetCount + 1);
  });

  it('key roles are checked: an EK is no AK, an AK no EK, a device key neither; garbage does not parse', async () => {
    rejectsWith('ERR_ATTEST_KEY', () => parseAttestationKey(a.rsaEk.publicArea));
    rejectsWith('ERR_ATTEST_KEY', () => parseEndorsementKey(a.ak.publicArea));
    const dir = await mkdtemp(join(work, 'device-key-'));
    await initDeviceKey({ tcti: a.swtpm.tcti, keyDir: dir });
    const deviceKeyPublic = await readFile(join(dir, 'device.pub'));
    rejectsWith('ERR_ATTEST_KEY', () => parseAttestationKey(deviceKeyPublic));
    rejectsWith('ERR_ATTEST_KEY', () => parseEndorsementKey(deviceKeyPublic));
    rejectsWith('ERR_ATTEST_MALFORMED', () => parseAttestationKey(randomBytes(40)));
    rejectsWith('ERR_ATTEST_MALFORMED', () => parseEndorsementKey(a.rsaEk.publicArea.subarray(0, 100)));
  });
});
