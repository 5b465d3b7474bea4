import { concatBytes } from './lib/util/bytes.js';
import { sealInto, type SealCommonOptions } from './lib/seal/seal-into.js';

/**
 * Seals into memory and returns the container bytes (for small models, tests, and uploads).
 *
 * @example
 * ```ts
 * const bytes = await sealToBuffer({
 *   entries: [{ name: 'model.onnx', role: 'onnx', data: onnxBytes }],
 *   metadata: { name: 'classifier', version: '1' },
 *   recipients: [recipient],
 * });
 * ```
 */
export async function sealToBuffer(options: SealCommonOptions): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let headerArea: Uint8Array = new Uint8Array(0);
  await sealInto(
    {
      async begin() {},
      async writePayload(bytes) {
        parts.push(Uint8Array.from(bytes));
      },
      async writeHeaderArea(area) {
        headerArea = area;
      },
    },
    options,
  );
  return concatBytes([headerArea, ...parts]);
}
