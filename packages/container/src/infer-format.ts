import type { EntryRole, ModelFormat } from './types.js';

/**
 * The model format the entry roles describe: an IR pair (`xml` + `weights`), an ONNX model, a
 * compiled blob, or `other`. `seal` records it when the metadata names no format; the loader reads a
 * container whose metadata says `other` by it.
 *
 * @example
 * ```ts
 * inferFormat(['xml', 'weights', 'aux']); // 'openvino-ir'
 * ```
 */
export function inferFormat(roles: Iterable<EntryRole>): ModelFormat {
  const present = new Set(roles);
  if (present.has('xml') && present.has('weights')) return 'openvino-ir';
  if (present.has('onnx')) return 'onnx';
  if (present.has('blob')) return 'openvino-blob';
  return 'other';
}
