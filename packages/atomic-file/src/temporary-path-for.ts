import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/**
 * A unique hidden sibling of `path` for a file being written (same directory, so the final rename
 * stays on one file system): `.NAME.PID.RANDOM.tmp`.
 *
 * @example
 * ```ts
 * temporaryPathFor('/var/lib/app/state.json'); // '/var/lib/app/.state.json.4242.9f86d081884c.tmp'
 * ```
 */
export function temporaryPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}
