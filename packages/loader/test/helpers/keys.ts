import { FileIdentity, FileRecipient, generateKey } from '@ovseal/key-file';
import type { Identity, Recipient, Stanza, WrapContext } from '@ovseal/container';

/** A fresh file key as a recipient/identity pair. */
export function freshKey(): { recipient: FileRecipient; identity: FileIdentity } {
  const key = generateKey();
  return { recipient: new FileRecipient(key), identity: new FileIdentity(key) };
}

/** Wraps an identity and counts unwrap calls (to prove a refusal happened before any key was used). */
export function countingIdentity(inner: Identity): Identity & { calls: number } {
  const counting = {
    calls: 0,
    async unwrap(stanzas: readonly Stanza[], context: WrapContext) {
      counting.calls++;
      return inner.unwrap(stanzas, context);
    },
  };
  return counting;
}

export type { Identity, Recipient };
