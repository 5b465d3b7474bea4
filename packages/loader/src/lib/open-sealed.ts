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
  const { source: containerSource } = await resolveSource(source, options.http);
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
    onProgress: options.onProgress,
  });
  try {
    if (store) await refuseRollback(store, opened.info.metadata, options);
  } catch (error) {
    opened.dispose();
    throw error;
  }
  const model: OpenedModel = {
    info: opened.info,
    format: formatOf(opened.info),
    entries: opened.entries,
    get: (name) => opened.get(name),
    dispose: () => opened.dispose(),
  };
  return {
    model,
    commit: async () => {
      if (store) await recordVersion(store, opened.info.metadata, options);
    },
  };
}
