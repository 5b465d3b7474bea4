import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ovseal/container';
import type { CredentialBlob } from './lib/attestation/credential.js';
import { credentialFile } from './lib/attestation/credential-file.js';
import { parseAttestationKeyPublic, type AttestationKeyPublic } from './lib/attestation/key-roles.js';
import { formatHandle, parseHandle, readPublicArea } from './lib/parent.js';
import { formatPcrSelection, parsePcrSelection } from './lib/pcr.js';
import { SECRET_PIPE_PATH, withSecretPipe } from './lib/secret-pipe.js';
import { withTempDir } from './lib/temp-dir.js';
import { Tpm2Tools } from './lib/tools.js';
import { hashOfAlg, parseTpmPublic, usableWithPassword } from './lib/tpm-public.js';
import type { TpmOptions } from './types.js';

/** Where `initAttestationKey` persists the attestation key unless told otherwise. */
export const DEFAULT_AK_HANDLE = 0x81000200;
/** The TCG handle of the RSA endorsement key (EK Credential Profile). */
export const DEFAULT_EK_HANDLE = 0x81010001;
/** TPM2B_DATA holds at most one digest of the largest hash (plus nothing): 64 bytes. */
const MAX_QUALIFYING_DATA = 64;

/** A TPM2_Quote as tpm2-tools writes it: what a verifier needs, with {@link verifyQuote}. */
export interface TpmQuote {
  /** The PCR selection quoted, `sha256:0,7`. */
  readonly pcrs: string;
  /** The signed TPMS_ATTEST. */
  readonly attest: Buffer;
  /** The TPMT_SIGNATURE. */
  readonly signature: Buffer;
  /** The quoted PCR values, concatenated in index order. */
  readonly pcrValues: Buffer;
}

/**
 * The device side of attestation: a restricted signing key persistent in the TPM. It quotes PCRs
 * for a verifier's nonce (TPM2_Quote) and answers a credential challenge made for it and the TPM's
 * endorsement key (TPM2_ActivateCredential). Everything runs through tpm2-tools.
 *
 * @example
 * ```ts
 * const ak = await AttestationKey.open(0x81000200, { tcti: 'device:/dev/tpmrm0' });
 * const quote = await ak.quote('sha256:0,7', qualifyingData);
 * ```
 */
export class AttestationKey {
  readonly handle: string;
  /** TPM2B_PUBLIC: what a verifier checks and binds the credential to. */
  readonly publicArea: Buffer;
  readonly public: AttestationKeyPublic;
  readonly #tools: Tpm2Tools;

  private constructor(tools: Tpm2Tools, handle: string, publicArea: Buffer) {
    this.#tools = tools;
    this.handle = handle;
    this.publicArea = publicArea;
    this.public = parseAttestationKeyPublic(publicArea);
  }

  /** Opens the attestation key at a persistent handle (reads and checks its public area). */
  static async open(handle: number | string = DEFAULT_AK_HANDLE, options: TpmOptions = {}): Promise<AttestationKey> {
    const tools = new Tpm2Tools(options);
    const formatted = formatHandle(parseHandle(handle, 'attestation key handle'));
    const publicArea = await tools.exclusive(() => withTempDir((dir) => readPublicArea(tools, formatted, dir, 'ak.pub')));
    return new AttestationKey(tools, formatted, publicArea);
  }

  /** nameAlg ‖ H(TPMT_PUBLIC): what a credential is bound to. */
  get name(): Buffer {
    return this.public.name;
  }

  /** TPM2_Quote over `pcrs` (one bank, `sha256:0,7`) with `qualifyingData` (the verifier's nonce, at most 64 bytes). */
  quote(pcrs: string, qualifyingData: Uint8Array): Promise<TpmQuote> {
    const selection = formatPcrSelection(parsePcrSelection(pcrs));
    if (qualifyingData.length > MAX_QUALIFYING_DATA)
      throw new InvalidArgumentError(`qualifying data holds at most ${MAX_QUALIFYING_DATA} bytes`);
    const hash = hashOfAlg(this.public.scheme.hash)!.name;
    const tools = this.#tools;
    return tools.exclusive(() =>
      withTempDir(async (dir) => {
        const args = [
          '-c',
          this.handle,
          '-l',
          selection,
          '-q',
          Buffer.from(qualifyingData).toString('hex'),
          '-g',
          hash,
          '-m',
          'quote.msg',
          '-s',
          'quote.sig',
          '-o',
          'quote.pcrs',
          '-F',
          'values',
        ];
        (await tools.run('quote', args, { cwd: dir })).fill(0);
        const [attest, signature, pcrValues] = await Promise.all(
          ['quote.msg', 'quote.sig', 'quote.pcrs'].map((file) => readFile(join(dir, file))),
        );
        return { pcrs: selection, attest: attest!, signature: signature!, pcrValues: pcrValues! };
      }),
    );
  }

  /**
   * TPM2_ActivateCredential: recovers the secret of a credential made (TPM2_MakeCredential, or
   * `makeCredential` in Node) for this key's name and the endorsement key at `ekHandle`. The TPM
   * refuses unless both keys are in it. An EK without userWithAuth (the TCG templates) is used
   * through a PolicySecret(endorsement) session.
   */
  activateCredential(credential: CredentialBlob, ekHandle: number | string = DEFAULT_EK_HANDLE): Promise<Buffer> {
    const ek = formatHandle(parseHandle(ekHandle, 'endorsement key handle'));
    const tools = this.#tools;
    return tools.exclusive(() =>
      withTempDir(async (dir) => {
        await writeFile(join(dir, 'credential.bin'), credentialFile(credential));
        const policy = !usableWithPassword(parseTpmPublic(await readPublicArea(tools, ek, dir, 'ek.pub')));
        try {
          if (policy) {
            await tools.run('startauthsession', ['--policy-session', '-S', 'session.ctx'], { cwd: dir });
            await tools.run('policysecret', ['-S', 'session.ctx', '-c', 'e', '-Q'], { cwd: dir });
          }
          const auth = policy ? ['-P', 'session:session.ctx'] : [];
          return await withSecretPipe(tools.tpmKey, async (fd3) => {
            const stdout = await tools.run(
              'activatecredential',
              ['-c', this.handle, '-C', ek, '-i', 'credential.bin', '-o', SECRET_PIPE_PATH, ...auth],
              { cwd: dir, fd3 },
            );
            stdout.fill(0); // it prints the secret in hex too
          });
        } finally {
          if (policy) await tools.run('flushcontext', ['session.ctx'], { cwd: dir }).catch(() => undefined);
        }
      }),
    );
  }
}
