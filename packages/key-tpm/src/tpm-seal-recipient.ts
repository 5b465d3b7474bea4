import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Recipient, Stanza, WrapContext } from '@ovseal/container';
import { formatParent, parseParent, withParent, type ParentSpec } from './lib/parent.js';
import { DEFAULT_PCRS, formatPcrSelection, parsePcrSelection, type PcrSelection } from './lib/pcr.js';
import { currentPcrPolicy } from './lib/pcr-read.js';
import { encodeSealBody, SEAL_STANZA_TYPE, sealDataKey } from './lib/seal-wire.js';
import { withTempDir } from './lib/temp-dir.js';
import { Tpm2Tools } from './lib/tools.js';
import type { StorageParent, TpmOptions } from './types.js';

/** Options of {@link TpmSealRecipient}. */
export interface TpmSealOptions extends TpmOptions {
  /** PCRs the seal is bound to, in their current values: `bank:i,j,…` (default `sha256:0,7`). */
  readonly pcrs?: string;
  /** Storage parent (default `'owner'`: recreated from the owner seed). */
  readonly parent?: StorageParent;
}

// A sealed data object usable only through its policy: no userWithAuth, so the empty password
// cannot unseal it; fixedTPM and fixedParent, so it cannot be duplicated to another TPM.
const SEALED_ATTRIBUTES = 'fixedtpm|fixedparent|noda|adminwithpolicy';

/**
 * Seals the data key to this TPM and its current boot state (stanza type `tpm-seal`): a random
 * secret is sealed under the storage primary with a PCR policy, and wraps the data key (AES-256-GCM
 * bound to the container). Wrapping needs the TPM itself; {@link TpmSealIdentity} unseals on the
 * same TPM while the PCRs hold the same values.
 *
 * @example
 * ```ts
 * const recipient = new TpmSealRecipient({ pcrs: 'sha256:0,7', tcti: 'device:/dev/tpmrm0' });
 * await seal({ output: 'm.ovseal', entries, metadata, recipients: [recipient] });
 * ```
 */
export class TpmSealRecipient implements Recipient {
  readonly pcrs: PcrSelection;
  readonly parent: ParentSpec;
  readonly #tools: Tpm2Tools;
  #parentName: string | undefined;

  constructor(options: TpmSealOptions = {}) {
    this.pcrs = parsePcrSelection(options.pcrs ?? DEFAULT_PCRS);
    this.parent = parseParent(options.parent);
    this.#tools = new Tpm2Tools(options);
  }

  async wrap(dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]> {
    const tools = this.#tools;
    const pcrs = formatPcrSelection(this.pcrs);
    return tools.exclusive(() =>
      withTempDir((dir) =>
        withParent(tools, this.parent, dir, async (parent) => {
          const secret = randomBytes(32);
          try {
            const policy = await currentPcrPolicy(tools, this.pcrs, dir);
            await tools.run(
              'create',
              [
                '-C',
                parent.arg,
                '-g',
                'sha256',
                '-a',
                SEALED_ATTRIBUTES,
                '-L',
                policy.toString('hex'),
                '-i',
                '-',
                '-u',
                'sealed.pub',
                '-r',
                'sealed.priv',
                '-Q',
              ],
              { cwd: dir, stdin: secret },
            );
            const [publicArea, privateArea] = await Promise.all([readFile(join(dir, 'sealed.pub')), readFile(join(dir, 'sealed.priv'))]);
            const body = encodeSealBody({ pcrs, publicArea, privateArea, sealed: sealDataKey(secret, dataKey, context) });
            this.#parentName = parent.name.toString('hex');
            return [{ type: SEAL_STANZA_TYPE, args: [pcrs, this.#parentName], body }];
          } finally {
            secret.fill(0);
            if (parent.transient) await tools.flushTransient(dir);
          }
        }),
      ),
    );
  }

  /**
   * True for `tpm-seal` stanzas of the TPM this recipient seals to, whatever their PCR selection
   * (readers try one stanza per TPM). Known once this recipient has wrapped (it needs the TPM).
   */
  describes(stanza: Stanza): boolean {
    return stanza.type === SEAL_STANZA_TYPE && this.#parentName !== undefined && stanza.args[1] === this.#parentName;
  }

  /** `tpm-seal:sha256:0,7?parent=owner`: this recipient as a URI (see tpmRecipientFromUri). */
  toString(): string {
    return `tpm-seal:${formatPcrSelection(this.pcrs)}?parent=${formatParent(this.parent)}`;
  }
}
