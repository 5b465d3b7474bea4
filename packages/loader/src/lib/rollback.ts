import { RollbackError } from '../errors.js';
import type { ModelMetadata } from '@ovseal/container';
import type { OpenModelOptions, RollbackStore } from '../types.js';
import { compareVersions } from '../compare-versions.js';

type Order = (a: string, b: string) => number;

function orderOf(options: OpenModelOptions): Order {
  return options.compareVersions ?? compareVersions;
}

/** Throws a `RollbackError` if `metadata.version` is older than the highest version the store saw. */
export async function refuseRollback(store: RollbackStore, metadata: ModelMetadata, options: OpenModelOptions): Promise<void> {
  const highest = await store.highestVersion(metadata.name);
  if (highest !== undefined && orderOf(options)(metadata.version, highest) < 0) {
    throw new RollbackError(metadata.name, metadata.version, highest);
  }
}

/** Raises the recorded version to `metadata.version` when it is newer (or the first seen). */
export async function recordVersion(store: RollbackStore, metadata: ModelMetadata, options: OpenModelOptions): Promise<void> {
  const highest = await store.highestVersion(metadata.name);
  if (highest === undefined || orderOf(options)(metadata.version, highest) > 0) {
    await store.recordVersion(metadata.name, metadata.version);
  }
}
