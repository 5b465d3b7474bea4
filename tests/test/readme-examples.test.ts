/**
 * The READMEs stay true to the code: every ```ts example in README.md and each package's README is
 * extracted and type-checked (strict, against the packages as built), and those fenced ```ts run
 * are also run, in an empty directory, as a reader would paste them. Examples that need hardware
 * (a TPM, an HSM), AWS or a registry are type-checked only; their free variables (`entries`,
 * `identities`, …) are declared in PRELUDE with the types the surrounding text gives them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** Inside tests/, so that the examples' `@ovseal/*` imports resolve to this repository's packages. */
const WORK = join(REPO, 'tests', '.readme-examples');

interface Example {
  /** `packages/key-file/README.md#2` */
  readonly id: string;
  readonly file: string;
  readonly code: string;
  readonly run: boolean;
}

function readmes(): string[] {
  const found = ['README.md'];
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(REPO, group)).sort()) found.push(join(group, name, 'README.md'));
  }
  return found.filter((file) => {
    try {
      readFileSync(join(REPO, file));
      return true;
    } catch {
      return false;
    }
  });
}

function examples(): Example[] {
  const all: Example[] = [];
  for (const file of readmes()) {
    const text = readFileSync(join(REPO, file), 'utf8');
    let index = 0;
    for (const match of text.matchAll(/^```ts( run)?\n([\s\S]*?)^```$/gm)) {
      index++;
      all.push({ id: `${file}#${index}`, file: `${file.replace(/[/.]/g, '_')}_${index}`, code: match[2]!, run: match[1] !== undefined });
    }
  }
  return all;
}

/** Free variables of the type-check-only examples, typed as their READMEs describe them. */
const PRELUDE = `
declare const entries: import('@ovseal/container').SealEntryInput[];
declare const metadata: import('@ovseal/container').SealMetadataInput;
declare const recipients: import('@ovseal/container').Recipient[];
declare const identities: import('@ovseal/container').Identity[];
declare const deviceIdentity: import('@ovseal/container').Identity;
declare const publisherPublicKeyPem: string;
declare const privateKeyPem: string;
declare const pixels: Float32Array;
declare const binBytes: Uint8Array;
declare const xmlText: string;
declare const output: string;
declare const kms: import('@ovseal/kms-local').KmsLocal;
declare const tcti: string;
declare const qualifyingData: Uint8Array;
declare const manufacturerCaPem: string;
type Stanza = import('@ovseal/container').Stanza;
type WrapContext = import('@ovseal/container').WrapContext;
type KeyObject = import('node:crypto').KeyObject;
`;

const all = examples();
let checked: { status: number | null; output: string };

beforeAll(() => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(join(WORK, 'src'), { recursive: true });
  writeFileSync(join(WORK, 'src', 'prelude.d.ts'), PRELUDE);
  for (const example of all) {
    // `export {}` makes each example a module of its own (top-level await, no shared names).
    writeFileSync(join(WORK, 'src', `${example.file}.ts`), `// ${example.id}\n${example.code}\nexport {};\n`);
  }
  writeFileSync(
    join(WORK, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022'],
        strict: true,
        skipLibCheck: true,
        types: ['node', 'vitest/globals'],
        typeRoots: [join(REPO, 'node_modules', '@types'), join(REPO, 'node_modules')],
        rootDir: 'src',
        outDir: 'out',
      },
      include: ['src'],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', WORK], { encoding: 'utf8' });
  checked = { status: tsc.status, output: (tsc.stdout + tsc.stderr).replaceAll(WORK, '') };
}, 120_000);

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

describe('README examples', () => {
  test('there are examples, and some of them run', () => {
    expect(all.length).toBeGreaterThan(15);
    expect(all.filter((example) => example.run).length).toBeGreaterThanOrEqual(5);
  });

  test.each(all.map((example) => [example.id, example] as const))('%s type-checks', (_id, example) => {
    const errors = checked.output.split('\n').filter((line) => line.includes(`src/${example.file}.ts(`));
    expect(errors, errors.join('\n')).toEqual([]);
  });

  test('the type check reported nothing else (the prelude included)', () => {
    expect(
      checked.output
        .split('\n')
        .filter((line) => /error TS/.test(line) && !all.some((example) => line.includes(`src/${example.file}.ts(`))),
    ).toEqual([]);
    expect(checked.status).toBe(0);
  });

  test.each(all.filter((example) => example.run).map((example) => [example.id, example] as const))('%s runs', (_id, example) => {
    const cwd = mkdtempSync(join(tmpdir(), 'ovseal-readme-'));
    try {
      // What the examples read: a model to seal, a finished download to move into place.
      writeFileSync(join(cwd, 'model.onnx'), 'model bytes');
      writeFileSync(join(cwd, 'download.part'), 'downloaded bytes');
      const script = join(WORK, 'out', `${example.file}.js`);
      execFileSync(process.execPath, [script], { cwd, stdio: 'pipe', timeout: 110_000 });
    } catch (error) {
      const { stderr } = error as { stderr?: Buffer };
      throw new Error(`${example.id} (${relative(REPO, WORK)}/out/${example.file}.js) failed: ${stderr?.toString() ?? String(error)}`);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
