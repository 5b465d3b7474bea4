#!/usr/bin/env node
// Keeps the TypeScript project references in step with the workspace dependencies, so that one
// `tsc -b` (the root tsconfig.json) builds and type-checks every package's sources and tests in
// dependency order:
//
// - packages/X/tsconfig.json (sources, composite) references the packages X depends on (and the
//   repository-wide tests/ have a test project only);
// - packages/X/test/tsconfig.json (tests, composite, no output) references ../ and every workspace
//   package X depends on or develops with;
// - tsconfig.json at the root references all of them.
//
// `node scripts/tsconfig-references.mjs` rewrites the `references` (nothing else) of those files;
// `--check` (run by `pnpm check`) fails, naming the files, when one is out of step.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

const TEST_TEMPLATE = {
  '//': 'Type-checks the tests (vitest only strips types); built by the root `tsc -b`.',
  extends: '../../../tsconfig.base.json',
  compilerOptions: {
    composite: true,
    noEmit: true,
    rootDir: '..',
    declarationMap: false,
    sourceMap: false,
    tsBuildInfoFile: '../node_modules/.cache/tsc/test.tsbuildinfo',
  },
  include: ['./**/*.ts'],
};

/** Workspace packages that have TypeScript sources: folder and manifest. */
function workspacePackages() {
  const found = new Map();
  const dirs = ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(root, group))
      .sort()
      .map((name) => join(root, group, name)),
  );
  for (const dir of [...dirs, join(root, 'tests')]) {
    {
      if (!existsSync(join(dir, 'package.json'))) continue;
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      found.set(manifest.name, { dir, manifest });
    }
  }
  return found;
}

function internal(packages, names) {
  return [...new Set(names)].filter((name) => packages.has(name)).sort();
}

function referencesFrom(fromDir, packages, names) {
  return internal(packages, names).map((name) => ({ path: relative(fromDir, packages.get(name).dir) }));
}

const stale = [];

function update(path, references, template) {
  const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  const config = before === undefined ? structuredClone(template) : JSON.parse(before);
  config.references = references;
  const after = `${JSON.stringify(config, null, 2)}\n`;
  if (after === before) return;
  stale.push(relative(root, path));
  if (!check) writeFileSync(path, after);
}

const packages = workspacePackages();
const solution = [];
for (const { dir, manifest } of packages.values()) {
  const runtime = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies });
  const development = Object.keys(manifest.devDependencies ?? {});
  if (existsSync(join(dir, 'tsconfig.json'))) {
    update(join(dir, 'tsconfig.json'), referencesFrom(dir, packages, runtime), undefined);
    solution.push({ path: relative(root, dir) });
  }
  if (existsSync(join(dir, 'test'))) {
    const testDir = join(dir, 'test');
    const own = existsSync(join(dir, 'tsconfig.json')) ? [{ path: '..' }] : [];
    const template = { ...TEST_TEMPLATE, extends: relative(testDir, join(root, 'tsconfig.base.json')) };
    update(join(testDir, 'tsconfig.json'), [...own, ...referencesFrom(testDir, packages, [...runtime, ...development])], template);
    solution.push({ path: relative(root, testDir) });
  }
}
update(join(root, 'tsconfig.json'), solution, {
  '//': 'The solution: `tsc -b` builds every package and type-checks every test.',
  files: [],
});

if (check && stale.length > 0) {
  console.error(`project references out of step with package.json in: ${stale.join(', ')}\nrun: node scripts/tsconfig-references.mjs`);
  process.exit(1);
}
if (!check) console.log(stale.length ? `updated ${stale.join(', ')}` : 'references up to date');
