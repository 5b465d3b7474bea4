import { restoreHeaderArea } from './lib/io/rewrap-journal.js';

/**
 * Undoes an interrupted in-place {@link rewrap}: puts back the header area it saved in
 * `PATH.rewrap-journal`, so the container opens as it did before. The journal is checked first —
 * it must parse as a header area of exactly its own length, name this file's container id and
 * describe a container of this file's length — and refused (`ERR_INVALID_ARGUMENT`, the file left
 * untouched) otherwise. Returns false when no journal exists (nothing was interrupted).
 *
 * @example
 * ```ts
 * if (await recoverRewrap('model.ovseal')) console.log('restored the header of model.ovseal');
 * ```
 */
export async function recoverRewrap(path: string): Promise<boolean> {
  return restoreHeaderArea(path);
}
