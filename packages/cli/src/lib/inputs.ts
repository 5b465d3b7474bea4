import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import type { EntryRole, SealEntryInput } from '@ovseal/container';
import { UsageError } from './output.js';

const ROLE_BY_EXTENSION: Record<string, EntryRole> = { '.xml': 'xml', '.bin': 'weights', '.onnx': 'onnx', '.blob': 'blob' };

function roleOf(path: string): EntryRole {
  return ROLE_BY_EXTENSION[extname(path).toLowerCase()] ?? 'aux';
}

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))
    .sort();
}

/**
 * Turns `seal` arguments into entries: files (role from the extension: .xml, .bin, .onnx, .blob),
 * a directory (every file in it, names relative to it), and `--aux` files.
 */
export function sealEntries(inputs: readonly string[], aux: readonly string[]): SealEntryInput[] {
  const entries: SealEntryInput[] = [];
  for (const input of inputs) {
    let stats;
    try {
      stats = statSync(input);
    } catch {
      throw new UsageError(`cannot read ${input}: no such file or directory`);
    }
    if (stats.isDirectory()) {
      for (const file of filesUnder(input))
        entries.push({ name: relative(input, file).split('\\').join('/'), role: roleOf(file), path: file });
    } else {
      entries.push({ name: basename(input), role: roleOf(input), path: input });
    }
  }
  for (const file of aux) entries.push({ name: basename(file), role: 'aux', path: file });
  if (entries.length === 0)
    throw new UsageError('nothing to seal', 'pass model files, e.g. `ovseal seal model.xml model.bin -r file:k.key -o m.ovseal`');
  const names = new Set<string>();
  for (const entry of entries) {
    if (names.has(entry.name)) throw new UsageError(`two inputs are both named ${entry.name}`);
    names.add(entry.name);
  }
  const roles = entries.map((e) => e.role);
  if (roles.includes('xml') !== roles.includes('weights')) {
    throw new UsageError('an OpenVINO IR model needs both its .xml and its .bin', 'pass both, e.g. `ovseal seal model.xml model.bin …`');
  }
  return entries;
}

/** Default model name: the first model file's name without its extension. */
export function defaultModelName(entries: readonly SealEntryInput[]): string {
  const main = entries.find((e) => e.role !== 'aux') ?? entries[0]!;
  return basename(main.name, extname(main.name));
}
