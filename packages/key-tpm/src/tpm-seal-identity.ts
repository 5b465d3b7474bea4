import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AuthenticationFailedError, unwrapMatching, type Identity, type Stanza, type WrapContext } from '@ovseal/container';
import { parseParent, withParent, type ParentSpec, type PreparedParent } from './lib/parent.js';
import { formatPcrSelection, parsePcrSelection } from './lib/pcr.js';
import { rejectsStanzaInput } from './lib/response-code.js';
import { openDataKey, parseSealBody, SEAL_STANZA_TYPE, type SealBody } from './lib/seal-wire.js';
import { withTempDir } from './lib/temp-dir.js';
import { Tpm2Tools } from './lib/tools.js';
import type { StorageParent, TpmOptions } from './types.js';

/** Options of {@link TpmSealIdentity}. */
export interface TpmSealIdentityOptions extends TpmOptions {
  /** Storage parent the stanzas were sealed under (default `'owner'`). */
  readonly parent?: StorageParent;
}

/**
 * Unseals `tpm-seal` stanzas made on this TPM: loads the sealed object under the storage primary
 * and unseals it through a PCR policy session. Stanzas sealed under another TPM's primary are not
 * ours (null).
 *
 * Throws `TpmError` `ERR_TPM_POLICY` when the PCRs changed since sealing (another boot state), and
 * `AuthenticationFailedError` when a stanza of this TPM does not authenticate (tampered, or moved
 * from another container).
 *
 * @example
 * ```ts
 * const identity = new TpmSealIdentity({ parent: 0x81000001, tcti: 'device:/dev/tpmrm0' });
 * const model = await open('m.ovseal', { identities: [identity] });
 * ```
 */
export class TpmSealIdentity implements Identity {
  readonly parent: ParentSpec;
  readonly #tools: Tpm2Tools;

  constructor(options: TpmSealIdentityOptions = {}) {
    this.parent = parseParent(options.parent);
    this.#tools = new Tpm2Tools(options);
  }

  async unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    if (!stanzas.some((s) => s.type === SEAL_STANZA_TYPE && s.args.length === 2)) return null;
    const tools = this.#tools;
    return tools.exclusive(() =>
      withTempDir((dir) =>
        withParent(tools, this.parent, dir, (parent) => {
          // The key of a tpm-seal stanza is the TPM's storage parent: one attempt per TPM, whatever
          // PCR selection each stanza claims.
          const name = parent.name.toString('hex');
          return unwrapMatching(stanzas, context, {
            keyOf: (s) => (s.type === SEAL_STANZA_TYPE && s.args.length === 2 && s.args[1] === name ? name : null),
            unwrapOne: (s, ctx) => this.#unsealStanza(parent, s, ctx, dir),
          });
        }),
      ),
    );
  }

  /** A stanza of this TPM that does not parse, does not load or does not authenticate was tampered with. */
  async #unsealStanza(parent: PreparedParent, stanza: Stanza, context: WrapContext, dir: string): Promise<Uint8Array> {
    const body = parseSealBody(stanza.body);
    const dataKey = body && body.pcrs === stanza.args[0] ? await this.#unsealOne(parent, body, context, dir) : null;
    if (!dataKey) throw new AuthenticationFailedError();
    return dataKey;
  }

  /** tpm2_load + tpm2_unseal (which closes its policy session itself), then one flush of the transients. */
  async #unsealOne(parent: PreparedParent, body: SealBody, context: WrapContext, dir: string): Promise<Uint8Array | null> {
    const tools = this.#tools;
    let pcrs: string;
    try {
      pcrs = formatPcrSelection(parsePcrSelection(body.pcrs));
    } catch {
      return null;
    }
    let secret: Buffer;
    try {
      await Promise.all([writeFile(join(dir, 'sealed.pub'), body.publicArea), writeFile(join(dir, 'sealed.priv'), body.privateArea)]);
      try {
        await tools.run('load', ['-C', parent.arg, '-u', 'sealed.pub', '-r', 'sealed.priv', '-c', 'sealed.ctx', '-Q'], { cwd: dir });
      } catch (error) {
        if (rejectsStanzaInput(error, 'tpm2_load')) return null;
        throw error;
      }
      secret = await tools.run('unseal', ['-c', 'sealed.ctx', '-p', `pcr:${pcrs}`], { cwd: dir });
    } finally {
      await tools.flushTransient(dir);
    }
    try {
      return openDataKey(secret, body.sealed, context);
    } finally {
      secret.fill(0);
    }
  }
}
