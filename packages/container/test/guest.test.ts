/**
 * The packages are guests in other teams' processes: no shipped code changes V8's flags (Node
 * documents that as undefined behaviour after start-up) or forces garbage collections on the
 * host's threads. Checked on the sources of every package and app, so a new call anywhere fails.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './helpers.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

test('no shipped source sets V8 flags or calls gc()', () => {
  const roots = ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(REPO_ROOT, group)).map((name) => join(REPO_ROOT, group, name, 'src')),
  );
  const files = roots.filter((root) => statSync(root, { throwIfNoEntry: false })?.isDirectory()).flatMap(sources);
  expect(files.length).toBeGreaterThan(50);
  const offending = files.filter((file) => /setFlagsFromString|--expose[-_]gc|\bgc\s*\(\s*\{\s*type/.test(readFileSync(file, 'utf8')));
  expect(offending).toEqual([]);
});
