import type { Io } from '../lib/output.js';
import { UsageError } from '../lib/output.js';

export const tpmHelp = `Usage: ovseal tpm init [options]`;

export async function tpm(_argv: string[], _io: Io): Promise<number> {
  throw new UsageError('tpm commands are not available yet');
}
