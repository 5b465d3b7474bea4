import { inferFormat, type ContainerInfo, type EntryRole, type ModelFormat } from '@ovseal/container';
import { UnsupportedModelError } from '../errors.js';
import type { ModelEntry, OpenedModel } from '../types.js';

/** The model format: the metadata's, or guessed from the entry roles when it says `other`. */
export function formatOf(info: ContainerInfo): ModelFormat {
  if (info.metadata.format !== 'other') return info.metadata.format;
  return inferFormat(info.entries.map((entry) => entry.role));
}

/** The single entry of a role, or an `UnsupportedModelError` naming what is missing or ambiguous. */
export function singleEntry(model: OpenedModel, role: EntryRole): ModelEntry {
  const found = optionalEntry(model, role);
  if (found === undefined) {
    throw new UnsupportedModelError(`the ${model.format} model "${model.info.metadata.name}" has no "${role}" entry`);
  }
  return found;
}

/** The entry of a role if there is exactly one, `undefined` if none; several are ambiguous. */
export function optionalEntry(model: OpenedModel, role: EntryRole): ModelEntry | undefined {
  const matches = model.entries.filter((entry) => entry.role === role);
  if (matches.length > 1) {
    const names = matches.map((entry) => JSON.stringify(entry.name)).join(', ');
    throw new UnsupportedModelError(`the model has several "${role}" entries (${names}); the loader needs exactly one`);
  }
  return matches[0];
}
