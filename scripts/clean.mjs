#!/usr/bin/env node
// `pnpm clean`: removes every package's build output (dist/ and TypeScript's build info), so that
// the next `pnpm build` — and so a packed tarball — holds only what today's sources produce: tsc
// never deletes the output of a source file that was removed or renamed.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const removed = [];
for (const group of ['packages', 'apps', 'tests']) {
  const groupDir = join(root, group);
  if (!existsSync(groupDir)) continue;
  const dirs = group === 'tests' ? [groupDir] : readdirSync(groupDir).map((name) => join(groupDir, name));
  for (const dir of dirs) {
    for (const output of ['dist', 'tsconfig.tsbuildinfo', join('node_modules', '.cache', 'tsc')]) {
      const path = join(dir, output);
      if (existsSync(path)) {
        rmSync(path, { recursive: true, force: true });
        removed.push(path.slice(root.length + 1));
      }
    }
  }
}
console.log(removed.length ? `removed ${removed.length} build outputs` : 'nothing to remove');
