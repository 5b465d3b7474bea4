import { openSealed } from './lib/open-sealed.js';
import type { ModelSource, OpenModelOptions, OpenedModel } from './types.js';

/**
 * Decrypts a sealed model into memory for any runtime. Nothing is written to disk.
 *
 * Every entry is authenticated before any plaintext is returned; trust (`trust.publicKeys`),
 * not-after and rollback (`rollback`) are enforced first. Call `dispose()` once the runtime holds
 * its own copy: it zeroes the plaintext buffers.
 *
 * @example
 * ```ts
 * import { openModel } from '@ovseal/loader';
 * import { FileIdentity } from '@ovseal/key-file';
 *
 * const model = await openModel('https://models.example.com/detector.ovseal', {
 *   identities: [await FileIdentity.fromFile('/etc/ovseal/device.key')],
 *   trust: { publicKeys: [publisherPem] },
 * });
 * try {
 *   const labels = new TextDecoder().decode(model.get('labels.txt'));
 * } finally {
 *   model.dispose();
 * }
 * ```
 */
export async function openModel(source: ModelSource, options: OpenModelOptions): Promise<OpenedModel> {
  const { model, commit } = await openSealed(source, options);
  try {
    await commit();
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
