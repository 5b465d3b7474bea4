import type { OpenVinoCompiledModel, OpenVinoCore } from './openvino.js';

/**
 * `core.importModel` over the decrypted blob without copying it in JavaScript: a Buffer view of
 * the same memory (openvino-node reads it through the Buffer API, which accepts shared memory).
 * OpenVINO copies the bytes into its own stream, so the caller may zero them once this resolves.
 */
export function importCompiledBlob(
  core: OpenVinoCore,
  blob: Uint8Array,
  device: string,
  config: Readonly<Record<string, string>>,
): Promise<OpenVinoCompiledModel> {
  const view = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  // Older bindings accept exactly two arguments: pass the config only when there is one.
  return Object.keys(config).length === 0 ? core.importModel(view, device) : core.importModel(view, device, { ...config });
}
