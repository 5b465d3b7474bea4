import { SignatureMissingError } from './errors.js';
import { throwIfAborted } from './lib/util/abort.js';
import { decryptPayload } from './lib/open/decrypt-payload.js';
import { headerInfo } from './lib/format/header-info.js';
import { wipe } from './lib/crypto/derived-keys.js';
import { unlock } from './lib/crypto/unlock.js';
import { checkNotExpired, checkPayloadDigest, checkSignature, type TrustPolicy } from './lib/open/policy-checks.js';
import { describeSignature } from './lib/crypto/signature.js';
import { openReader, readHeader, type ContainerSource } from './lib/io/container-reader.js';
import type { ContainerInfo, Identity, SignatureInfo } from './types.js';

/** Options of {@link verify}. */
export interface VerifyOptions {
  /** Require a signature by one of these publisher keys. */
  readonly trust?: TrustPolicy | undefined;
  /** Require a signature, from any key (its key id is reported). */
  readonly requireSignature?: boolean | undefined;
  /** With identities, every header MAC and payload tag is checked too (plaintext is discarded). */
  readonly identities?: readonly Identity[] | undefined;
  readonly now?: Date | undefined;
  /** Cancels the verification (`AbortError`, code `ERR_ABORTED`). */
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/** What {@link verify} established. Any failure throws instead. */
export interface VerifyResult {
  readonly info: ContainerInfo;
  /** The valid signature (its payload digest matched), or null when the container is unsigned. */
  readonly signature: SignatureInfo | null;
  /** True when a key was given and every MAC and tag verified. */
  readonly decrypted: boolean;
}

/**
 * Verifies a container. Without a key: the publisher signature over the header core and the
 * payload digest (SHA-256 tree over the ciphertext). With identities: also the key commitment,
 * the header MAC and every segment tag. Throws a typed error on any failure.
 *
 * @example
 * ```ts
 * const { signature } = await verify('model.ovseal', { trust: { publicKeys: [publisherPem] } });
 * ```
 */
export async function verify(source: ContainerSource, options: VerifyOptions = {}): Promise<VerifyResult> {
  const reader = openReader(source, options.signal);
  let payloadKey: Buffer | undefined;
  try {
    const identities = options.identities ?? [];
    // The order of docs/FORMAT.md §9: the signature needs no key, so no KMS or TPM call is made for
    // a container whose signature fails; expiry is checked once the header is authenticated as far
    // as this call can (the MAC with a key, the signature without one).
    throwIfAborted(options.signal);
    const header = await readHeader(reader);
    const signed = header.signature !== null;
    if (!signed && options.requireSignature) throw new SignatureMissingError();
    checkSignature(header, options.trust);
    throwIfAborted(options.signal);
    if (identities.length > 0) {
      const { dataKey, keys } = await unlock(header, identities);
      wipe(dataKey, keys.macKey);
      payloadKey = keys.payloadKey;
    }
    checkNotExpired(header, options.now ?? new Date());
    // Without a key only the ciphertext is hashed; with one every tag is checked and the plaintext dropped.
    const result = await decryptPayload(reader, header, payloadKey ?? new Uint8Array(32), {
      entries: new Set(payloadKey ? header.entries.map((_, index) => index) : []),
      digest: signed,
      keep: false,
      signal: options.signal,
      onProgress: options.onProgress,
    });
    if (result.digest) checkPayloadDigest(header, result.digest);
    return {
      info: headerInfo(header, header.payloadOffset),
      signature: signed ? describeSignature(header.signature) : null,
      decrypted: payloadKey !== undefined,
    };
  } finally {
    wipe(payloadKey);
    reader.close();
  }
}
