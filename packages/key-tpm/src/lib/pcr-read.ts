import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPcrSelection, pcrPolicyDigest, type PcrSelection } from './pcr.js';
import type { Tpm2Tools } from './tools.js';

/** The PolicyPCR digest for the PCR values the TPM holds now (one tpm2_pcrread, no session). */
export async function currentPcrPolicy(tools: Tpm2Tools, selection: PcrSelection, dir: string): Promise<Buffer> {
  await tools.run('pcrread', ['-Q', '-o', 'pcrs.bin', formatPcrSelection(selection)], { cwd: dir });
  return pcrPolicyDigest(selection, await readFile(join(dir, 'pcrs.bin')));
}
