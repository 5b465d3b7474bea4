import { inspect, open } from '@ovseal/container';
import type { OpenModelOptions, OpenedModel } from '../types.js';
import { formatOf } from './model-format.js';
import { recordVersion, refuseRollback } from './rollback.js';
import { resolveSource } from './source.js';
import type { ModelSource } from '../types.js';

/** A model opened under the device policy, whose version is not yet recorded as seen. */
export interface SealedModelOpening {
  readonly model: OpenedModel;
  /** Records the version in the rollback store (after the runtime accepted the model). */
  readonly commit: () => Promise<void>;
}

/**
 * Opens a sealed model into memory under the device policy: trust and not-after are enforced by
 * the container while it opens, rollback here. The version is recorded only by `commit()`, so a
 * model the runtime then fails to load does not lock the device out of the version it runs.
 */
export async function openSealed(source: ModelSource, options: OpenModelOptions): Promise<SealedModelOpening> {
  // Either signal ends the whole load: the download (a stalled body must not outlive the abort)
  // and the decryption, with one AbortError.
  const signals = [options.http?.signal, options.signal].filter((signal) => signal !== undefined);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const { source: containerSource } = await resolveSource(source, { ...options.http, signal });
  const store = options.rollback;
  if (store && (typeof containerSource === 'string' || containerSource instanceof Uint8Array)) {
    // A file or bytes can be read twice: refuse an old version from the header before any key is
    // unwrapped. The authenticated check after opening is the one that counts.
    await refuseRollback(store, (await inspect(containerSource)).metadata, options);
  }
  const opened = await open(containerSource, {
    identities: options.identities,
    trust: options.trust,
    now: options.now,
    workers: options.workers,
    signal,
    onProgress: options.onProgress,
  });
  try {
    if (store) await refuseRollback(store, opened.info.metadata, options);
  } catch (error) {
    opened.dispose();
    throw error;
  }
  const dispose = () => opened.dispose();
  const model: OpenedModel = {
    info: opened.info,
    format: formatOf(opened.info),
    get entries() {
      return opened.entries;
    },
    get: (name) => opened.get(name),
    dispose,
    [Symbol.dispose]: dispose,
  };
  return {
    model,
    commit: async () => {
      if (store) await recordVersion(store, opened.info.metadata, options);
    },
  };
}
