import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** HKDF info labels (docs/FORMAT.md §4). */
const LABEL_PAYLOAD = 'ovseal/v1 payload key';
const LABEL_MAC = 'ovseal/v1 header mac key';
const LABEL_COMMITMENT = 'ovseal/v1 key commitment';

export const DATA_KEY_LENGTH = 32;

function derive(dataKey: Uint8Array, salt: Uint8Array, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, salt, label, 32));
}

/** The three values derived from a container's data key and header salt. */
export interface DerivedKeys {
  readonly payloadKey: Buffer;
  readonly macKey: Buffer;
  readonly commitment: Buffer;
}

export function deriveKeys(dataKey: Uint8Array, salt: Uint8Array): DerivedKeys {
  return {
    payloadKey: derive(dataKey, salt, LABEL_PAYLOAD),
    macKey: derive(dataKey, salt, LABEL_MAC),
    commitment: derive(dataKey, salt, LABEL_COMMITMENT),
  };
}

export function headerMac(macKey: Uint8Array, headerWithoutMac: Uint8Array): Buffer {
  return createHmac('sha256', macKey).update(headerWithoutMac).digest();
}

/** Constant-time equality for MACs and commitments. */
export function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Overwrites secret material we own (best effort: JavaScript may hold other copies). */
export function wipe(...buffers: (Uint8Array | undefined)[]): void {
  for (const buffer of buffers) buffer?.fill(0);
}
