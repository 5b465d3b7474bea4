import { writeAtomically } from './lib/io/atomic-file.js';
import { fileSink } from './lib/io/file-sink.js';
import { sealInto, type SealCommonOptions } from './lib/seal/seal-into.js';
import type { ContainerInfo } from './types.js';

/** Options of {@link seal}. */
export interface SealOptions extends SealCommonOptions {
  /** Path of the container to write. It appears whole or not at all. */
  readonly output: string;
}

/**
 * Seals model files into a container file, streaming: the payload is never held in memory whole.
 *
 * @example
 * ```ts
 * import { seal } from '@ovseal/container';
 * import { FileRecipient, generateKey } from '@ovseal/key-file';
 *
 * const key = generateKey();
 * await seal({
 *   output: 'model.ovseal',
 *   entries: [
 *     { name: 'model.xml', role: 'xml', path: 'model.xml' },
 *     { name: 'model.bin', role: 'weights', path: 'model.bin' },
 *   ],
 *   metadata: { name: 'detector', version: '4.0.0' },
 *   recipients: [new FileRecipient(key)],
 * });
 * ```
 */
export async function seal(options: SealOptions): Promise<ContainerInfo> {
  return writeAtomically(options.output, (file) => sealInto(fileSink(file), options));
}
