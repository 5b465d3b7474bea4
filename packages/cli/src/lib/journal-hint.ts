import { existsSync } from 'node:fs';
import { OvsealError } from '@ovseal/container';

const HEADER_DAMAGE = new Set(['ERR_MALFORMED_HEADER', 'ERR_AUTHENTICATION_FAILED', 'ERR_UNSUPPORTED_VERSION', 'ERR_LIMIT_EXCEEDED']);

/**
 * Runs a command on a container; if its header turns out damaged while an interrupted rewrap left
 * its journal behind, says how to restore the header instead of only reporting the damage.
 */
export async function withJournalHint<T>(path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof OvsealError && HEADER_DAMAGE.has(error.code) && existsSync(`${path}.rewrap-journal`)) {
      throw new OvsealError(error.code, `${error.message} (an interrupted rewrap left ${path}.rewrap-journal)`, {
        cause: error,
        hint: `restore the header with \`ovseal rewrap --recover ${path}\``,
      });
    }
    throw error;
  }
}
