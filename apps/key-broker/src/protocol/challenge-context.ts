import { createWrapContext, type WrapContext } from '@ovseal/container';

/** Model name slot of a challenge's wrap context: no container can carry it, so no stanza is reusable across. */
export const CHALLENGE_LABEL = 'ovseal-broker/v1 challenge';

/**
 * The wrap context a challenge secret is bound to: the nonce's 16 random bytes stand in the
 * container id, the device id in the version. A challenge stanza cannot be replayed for another
 * device or nonce, nor mistaken for a model key.
 *
 * @example
 * ```ts
 * const secret = await deviceIdentity.unwrap([stanzaFromJson(challenge.stanza)], challengeContext(challenge.nonce, deviceId));
 * ```
 */
export function challengeContext(nonce: string, deviceId: string): WrapContext {
  const bytes = Buffer.from(nonce, 'base64url');
  if (bytes.length < 16) throw new TypeError('a challenge nonce holds at least 16 bytes');
  return createWrapContext({ containerId: bytes.subarray(0, 16), modelName: CHALLENGE_LABEL, modelVersion: deviceId });
}
