import { InvalidArgumentError } from './errors.js';
import { concatBytes, toHex, utf8 } from './lib/util/bytes.js';
import type { WrapContext } from './types.js';

const AAD_LABEL = utf8('ovseal/v1 wrap\n');

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + bytes.length);
  new DataView(out.buffer).setUint16(0, bytes.length);
  out.set(bytes, 2);
  return out;
}

/**
 * Builds the context every wrap is bound to. Containers do this themselves; providers and their
 * tests call it to wrap or unwrap outside a container.
 *
 * `aad` = "ovseal/v1 wrap\n" ‖ containerId (16) ‖ u16 len ‖ name ‖ u16 len ‖ version (docs/FORMAT.md §5).
 *
 * @example
 * ```ts
 * const ctx = createWrapContext({ containerId: randomBytes(16), modelName: 'det', modelVersion: '4' });
 * const stanzas = await recipient.wrap(dataKey, ctx);
 * ```
 */
export function createWrapContext(fields: { containerId: Uint8Array; modelName: string; modelVersion: string }): WrapContext {
  const { containerId, modelName, modelVersion } = fields;
  if (containerId.length !== 16) throw new InvalidArgumentError('containerId must be 16 bytes');
  const aad = concatBytes([AAD_LABEL, containerId, lengthPrefixed(utf8(modelName)), lengthPrefixed(utf8(modelVersion))]);
  return Object.freeze({
    containerId: Uint8Array.from(containerId),
    modelName,
    modelVersion,
    aad,
    encryptionContext: Object.freeze({
      'ovseal:container-id': toHex(containerId),
      'ovseal:model': modelName,
      'ovseal:version': modelVersion,
    }),
  });
}
