/** Model name slot of a challenge's wrap context: no container can carry it, so no stanza is reusable across. */
export const CHALLENGE_LABEL = 'ovseal-broker/v1 challenge';

/** The three fields a wrap context is made of (`createWrapContext` in `@ovseal/container`). */
export interface WrapContextFields {
  readonly containerId: Uint8Array;
  readonly modelName: string;
  readonly modelVersion: string;
}

/**
 * What a challenge secret is bound to: the nonce's 16 random bytes stand in the container id, the
 * device id in the version. A challenge stanza cannot be replayed for another device or nonce, nor
 * mistaken for a model key. The wrap context itself (its AAD, docs/FORMAT.md §5) is the
 * container's to build: pass these fields to `createWrapContext`.
 *
 * @example
 * ```ts
 * import { createWrapContext } from '@ovseal/container';
 * const context = createWrapContext(challengeWrapFields(challenge.nonce, deviceId));
 * const secret = await deviceIdentity.unwrap([stanzaFromJson(challenge.stanza)], context);
 * ```
 */
export function challengeWrapFields(nonce: string, deviceId: string): WrapContextFields {
  const bytes = Buffer.from(nonce, 'base64url');
  if (bytes.length < 16) throw new TypeError('a challenge nonce holds at least 16 bytes');
  return { containerId: new Uint8Array(bytes.subarray(0, 16)), modelName: CHALLENGE_LABEL, modelVersion: deviceId };
}
