import type { Identity } from '../../types.js';
import type { ParsedHeader } from '../format/header-codec.js';
import { throwIfAborted } from '../util/abort.js';
import { wipe } from '../crypto/derived-keys.js';
import { checkNotExpired, checkSignature, type TrustPolicy } from './policy-checks.js';
import type { Reader } from '../io/container-reader.js';
import { readHeader } from '../io/container-reader.js';
import { unlock, type Unlocked } from '../crypto/unlock.js';

/** Options shared by every call that decrypts. */
export interface OpenCommonOptions {
  /** Keys to try, in order; the first whose stanza unwraps opens the container. */
  readonly identities: readonly Identity[];
  /** Require a valid publisher signature by one of these keys (payload digest included). */
  readonly trust?: TrustPolicy | undefined;
  /** The time expiry is checked against (default: now). */
  readonly now?: Date | undefined;
  /**
   * Worker threads for the payload; 0 decrypts on the calling thread (which still yields to the
   * event loop every few milliseconds). Default: chosen from the payload size and the cores.
   */
  readonly workers?: number | undefined;
  /**
   * Cancels the call: workers are stopped, plaintext decrypted so far is zeroed, and the promise
   * rejects with an `AbortError` (code `ERR_ABORTED`).
   */
  readonly signal?: AbortSignal | undefined;
  /** Called as payload bytes are processed. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/**
 * Everything before the payload, in the order of docs/FORMAT.md §9: header parse, signature (and
 * trust), then unwrap, key commitment and MAC, then expiry. The signature comes first because it
 * needs no key: no KMS or TPM call is made for a container whose signature fails. Expiry comes
 * after the MAC, so that a tampered `notAfter` is reported as tampering.
 */
export async function prepareOpen(reader: Reader, options: OpenCommonOptions): Promise<{ header: ParsedHeader; payloadKey: Buffer }> {
  const { header, unlocked } = await authenticateHeader(reader, options);
  wipe(unlocked.dataKey, unlocked.keys.macKey);
  if (options.signal?.aborted) {
    wipe(unlocked.keys.payloadKey);
    throwIfAborted(options.signal);
  }
  return { header, payloadKey: unlocked.keys.payloadKey };
}

/**
 * Reads the header and authenticates it with the identities (signature, unwrap, commitment, MAC,
 * expiry). The caller owns (and wipes) the data key and its derived keys.
 */
export async function authenticateHeader(
  reader: Reader,
  options: Pick<OpenCommonOptions, 'identities' | 'trust' | 'now' | 'signal'>,
): Promise<{ header: ParsedHeader; unlocked: Unlocked }> {
  throwIfAborted(options.signal);
  const header = await readHeader(reader);
  checkSignature(header, options.trust);
  throwIfAborted(options.signal);
  const unlocked = await unlock(header, options.identities);
  try {
    checkNotExpired(header, options.now ?? new Date());
  } catch (error) {
    wipe(unlocked.dataKey, unlocked.keys.payloadKey, unlocked.keys.macKey);
    throw error;
  }
  return { header, unlocked };
}
