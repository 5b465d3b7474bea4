import { headerInfo } from './lib/format/header-info.js';
import { readHeaderOnly, type ContainerSource } from './lib/io/container-reader.js';
import type { ContainerInfo } from './types.js';

/**
 * Reads a container's header without any key: metadata, entries, recipients, signer.
 * Nothing here is authenticated until the container is opened or verified.
 *
 * @example
 * ```ts
 * const info = await inspect('model.ovseal');
 * console.log(info.metadata.name, info.entries.map((e) => e.name));
 * ```
 */
export async function inspect(source: ContainerSource): Promise<ContainerInfo> {
  const { header } = await readHeaderOnly(source);
  return headerInfo(header, header.payloadOffset);
}
