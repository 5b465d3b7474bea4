import type { OpenVinoCompiledModel, OpenVinoCore } from './openvino.js';

/**
 * `core.importModel` over the decrypted blob without copying it in JavaScript: a Buffer view of
 * the same memory. OpenVINO 2025 and later read an imported blob **in place** (the compiled
 * model's constants point into it), so the caller keeps the blob unchanged until the compiled
 * model is released, and zeroes it only then.
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
