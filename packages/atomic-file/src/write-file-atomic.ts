import { withAtomicFile, type AtomicFileOptions } from './with-atomic-file.js';

/**
 * Writes `data` to `path` so that the file appears whole or not at all (temporary file, fsync,
 * rename or exclusive link, directory fsync): after a crash or a power cut, `path` holds the old
 * content or the new one, never half of it.
 *
 * @example
 * ```ts
 * await writeFileAtomic('state.json', JSON.stringify(state), { mode: 0o600 });
 * await writeFileAtomic('model.key', keyText, { overwrite: false }); // EEXIST if it exists
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicFileOptions = {}): Promise<void> {
  await withAtomicFile(path, (file) => file.writeFile(data), options);
}
