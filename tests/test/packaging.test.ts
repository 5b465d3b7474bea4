/**
 * Packaging, as an outside team meets it: every publishable package is packed with `pnpm pack`,
 * its tarball checked (licence, metadata, exports, no tests, every source map's sources shipped),
 * and the tarballs installed together with npm into an empty project outside the repository
 * (install scripts off: native builds are not what is tested here). There a plain ES module seals
 * and opens a model (worker threads included), uses the testkit's kms-local, the env keys through
 * the compatible key-env entry and the CLI's binary; a CommonJS file requires a package; and a
 * TypeScript consumer type-checks against every entry without `skipLibCheck` and without the
 * loader's optional runtimes or the broker installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const REQUIRE_ALL = process.env['OVSEAL_REQUIRE_ALL'] === '1';

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  repository?: { type: string; url: string; directory: string };
  engines?: { node?: string };
  sideEffects?: boolean | string[];
  exports: Record<string, string | Record<string, string>>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The publishable packages: folder and manifest. */
const PACKAGES = ['packages', 'apps']
  .flatMap((group) => readdirSync(join(REPO, group)).map((name) => join(group, name)))
  .filter((dir) => existsSync(join(REPO, dir, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(REPO, dir, 'package.json'), 'utf8')) as Manifest }))
  .filter(({ manifest }) => !manifest.private)
  .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name));

/** Installed in the scratch project: all but the broker (the testkit's main entry must not need it). */
const NOT_INSTALLED = new Set(['@ovseal/key-broker']);

const missing = ['pnpm', 'npm'].filter((command) => spawnSync(command, ['--version']).status !== 0);
const work = mkdtempSync(join(tmpdir(), 'ovseal-pack-'));
const tarballs = join(work, 'tarballs');
const project = join(work, 'project');
const tarballOf = new Map<string, string>();

afterAll(() => rmSync(work, { recursive: true, force: true }));

function tarList(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function tarRead(tarball: string, file: string): string {
  return execFileSync('tar', ['-xzOf', tarball, file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

function run(command: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): string {
  return execFileSync(command, args, {
    cwd: project,
    encoding: 'utf8',
    timeout: 110_000,
    env: { ...process.env, ...options.env },
    ...(options.input ? { input: options.input } : {}),
  });
}

if (missing.length > 0 && !REQUIRE_ALL) {
  console.warn(`\n!!! SKIPPED the packaging tests: ${missing.join(' and ')} not found on the PATH\n`);
  test.skip(`packaging (${missing.join(', ')} missing)`, () => undefined);
} else {
  beforeAll(() => {
    expect(missing, `needed on the PATH: ${missing.join(', ')}`).toEqual([]);
    for (const { dir, manifest } of PACKAGES) {
      expect(existsSync(join(REPO, dir, 'dist')), `${dir}/dist missing: run pnpm build first`).toBe(true);
      const before = new Set(existsSync(tarballs) ? readdirSync(tarballs) : []);
      execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(REPO, dir), stdio: 'pipe' });
      const made = readdirSync(tarballs).filter((file) => !before.has(file));
      expect(made, manifest.name).toHaveLength(1);
      tarballOf.set(manifest.name, join(tarballs, made[0]!));
    }
  }, 300_000);

  describe.each(PACKAGES.map(({ manifest }) => [manifest.name, manifest] as const))('%s tarball', (name, source) => {
    test('ships its licence, README, code and sources, no tests; every source map points at shipped files', () => {
      const tarball = tarballOf.get(name)!;
      const files = new Set(tarList(tarball));
      for (const required of [
        'package/LICENSE',
        'package/README.md',
        'package/package.json',
        'package/dist/index.js',
        'package/dist/index.d.ts',
      ]) {
        expect(files.has(required), `${name}: ${required}`).toBe(true);
      }
      expect(tarRead(tarball, 'package/LICENSE')).toContain('Apache License');
      expect([...files].filter((file) => /^package\/(test|bench)\//.test(file) || file.endsWith('.tsbuildinfo'))).toEqual([]);
      const maps = [...files].filter((file) => file.endsWith('.map'));
      expect(maps.length, `${name} ships source maps`).toBeGreaterThan(0);
      for (const map of maps) {
        const { sources } = JSON.parse(tarRead(tarball, map)) as { sources: string[] };
        for (const sourceFile of sources) {
          const shipped = join(map.slice(0, map.lastIndexOf('/')), sourceFile).replace(/\\/g, '/');
          // A map whose source is gone is stale output of a removed file: `pnpm clean && pnpm build`.
          expect(files.has(shipped), `${map} → ${sourceFile} (stale build output? pnpm clean && pnpm build)`).toBe(true);
        }
      }
    });

    test('states licence, repository, engines, sideEffects, ESM exports with types; no workspace: ranges', () => {
      const packed = JSON.parse(tarRead(tarballOf.get(name)!, 'package/package.json')) as Manifest;
      expect(packed.license).toBe('Apache-2.0');
      expect(packed.repository).toMatchObject({ type: 'git', directory: PACKAGES.find((p) => p.manifest.name === name)!.dir });
      expect(packed.engines?.node).toMatch(/^>=20/);
      expect(packed.sideEffects === false || Array.isArray(packed.sideEffects)).toBe(true);
      for (const [subpath, target] of Object.entries(packed.exports)) {
        if (subpath === './package.json') continue;
        expect(target, `${name} ${subpath}`).toMatchObject({
          types: expect.stringMatching(/\.d\.ts$/),
          import: expect.stringMatching(/\.js$/),
          default: expect.stringMatching(/\.js$/),
        });
      }
      const ranges = Object.values({ ...packed.dependencies, ...packed.peerDependencies });
      expect(ranges.filter((range) => range.startsWith('workspace:'))).toEqual([]);
      expect(packed.version).toBe(source.version);
    });
  });

  describe('installed from the tarballs into an empty project', () => {
    beforeAll(() => {
      mkdirSync(project, { recursive: true });
      expect(project.startsWith(REPO)).toBe(false);
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
      const install = [...tarballOf].filter(([name]) => !NOT_INSTALLED.has(name)).map(([, tarball]) => tarball);
      // All tarballs in one command, so that dependencies between them resolve to the tarballs.
      execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', ...install], {
        cwd: project,
        stdio: 'pipe',
        timeout: 280_000,
      });
    }, 300_000);

    test('an ES module seals and opens a model (worker threads included) and uses kms-local through the testkit', () => {
      writeFileSync(join(project, 'roundtrip.mjs'), ROUNDTRIP);
      const output = run(process.execPath, ['roundtrip.mjs']);
      expect(JSON.parse(output.trim().split('\n').at(-1)!)).toEqual({
        results: [true, true, true, true],
        signer: true,
        format: 'openvino-ir',
        kms: true,
        env: true,
        fixture: true,
      });
    });

    test("require() of a package: the module itself where Node can require ES modules, else Node's ERR_REQUIRE_ESM naming import()", () => {
      const script = `try { const c = require('@ovseal/container'); console.log(typeof c.seal); } catch (e) { console.log(e.code + ' ' + e.message); }`;
      writeFileSync(join(project, 'consumer.cjs'), script);
      const output = run(process.execPath, ['consumer.cjs']).trim();
      if ((process.features as { require_module?: boolean }).require_module) expect(output).toBe('function');
      else expect(output).toMatch(/^ERR_REQUIRE_ESM .*import\(\)/);
    });

    test('TypeScript consumers type-check every entry without skipLibCheck, the loader without its runtimes', () => {
      expect(existsSync(join(project, 'node_modules', 'onnxruntime-node'))).toBe(false);
      expect(existsSync(join(project, 'node_modules', 'openvino-node'))).toBe(false);
      writeFileSync(join(project, 'consumer.ts'), CONSUMER);
      writeFileSync(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [join(REPO, 'node_modules', '@types')],
          },
          files: ['consumer.ts'],
        }),
      );
      const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], {
        encoding: 'utf8',
      });
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.status).toBe(0);
    });

    test('the ovseal binary: its version, keygen, seal, inspect and open', () => {
      const { version } = JSON.parse(readFileSync(join(project, 'node_modules', '@ovseal', 'cli', 'package.json'), 'utf8')) as Manifest;
      expect(run('npx', ['--no-install', 'ovseal', '--version']).trim()).toBe(`ovseal ${version} (container format v1)`);
      writeFileSync(join(project, 'model.onnx'), 'not really onnx');
      run('npx', ['--no-install', 'ovseal', 'keygen', '-o', 'cli.key']);
      run('npx', ['--no-install', 'ovseal', 'seal', 'model.onnx', '-r', 'file:cli.key', '-o', 'cli.ovseal']);
      expect(JSON.parse(run('npx', ['--no-install', 'ovseal', 'inspect', 'cli.ovseal', '--json'])).model.format).toBe('onnx');
      run('npx', ['--no-install', 'ovseal', 'open', 'cli.ovseal', '-i', 'file:cli.key', '-o', 'cli-out']);
      expect(readFileSync(join(project, 'cli-out', 'model.onnx'), 'utf8')).toBe('not really onnx');
    });
  });
}

const ROUNDTRIP = `
import { readFile, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { seal, open, verify, inspect, generateSigningKey, sealToBuffer } from '@ovseal/container';
import { FileRecipient, FileIdentity, generateKey, writeKeyFile, encodeKey } from '@ovseal/key-file';
import { EnvRecipient, EnvIdentity } from '@ovseal/key-env';
import { kmsIdentityFromUri, kmsRecipientFromUri } from '@ovseal/key-kms';
import { sealedFixture, startKmsLocal } from '@ovseal/testkit';

const weights = randomBytes(40 * 1024 * 1024 + 5);
await writeFile('model.bin', weights);
await writeFile('model.xml', '<net name="scratch"/>');
await writeKeyFile('model.key', generateKey());
const publisher = generateSigningKey();
await seal({
  output: 'model.ovseal',
  entries: [
    { name: 'model.xml', role: 'xml', path: 'model.xml' },
    { name: 'model.bin', role: 'weights', path: 'model.bin' },
  ],
  metadata: { name: 'scratch', version: '1.0.0' },
  recipients: [await FileRecipient.fromFile('model.key')],
  signer: publisher.privateKeyPem,
});
const identities = [await FileIdentity.fromFile('model.key')];
const trust = { publicKeys: [publisher.publicKeyPem] };
const results = [];
for (const [source, workers] of [['model.ovseal', 0], ['model.ovseal', 2], [createReadStream('model.ovseal'), 2], [await readFile('model.ovseal'), 0]]) {
  const model = await open(source, { identities, trust, workers });
  results.push(Buffer.from(model.get('model.bin')).equals(weights) && Buffer.from(model.get('model.xml')).toString() === '<net name="scratch"/>');
  model.dispose();
}
const verified = await verify('model.ovseal', { trust });
const info = await inspect('model.ovseal');

const small = { entries: [{ name: 'a', role: 'aux', data: new Uint8Array(10) }], metadata: { name: 'small', version: '1' } };
const kms = await startKmsLocal();
const viaKms = await sealToBuffer({ ...small, recipients: [kmsRecipientFromUri(kms.uri, kms.clientOptions)] });
const kmsOpened = await open(viaKms, { identities: [kmsIdentityFromUri(kms.uri, kms.clientOptions)] });
await kms.close();

const env = { SCRATCH_KEY: encodeKey(generateKey()) };
const viaEnv = await sealToBuffer({ ...small, recipients: [EnvRecipient.fromEnv('SCRATCH_KEY', env)] });
const envOpened = await open(viaEnv, { identities: [EnvIdentity.fromEnv('SCRATCH_KEY', env)] });

const fixture = await sealedFixture();
const fixtureOpened = await open(fixture.path, { identities: [fixture.identity], trust: { publicKeys: [fixture.publisher.publicKeyPem] } });
await fixture.cleanup();

console.log(JSON.stringify({
  results,
  signer: verified.signature?.keyId === publisher.keyId,
  format: info.metadata.format,
  kms: kmsOpened.get('a').length === 10,
  env: envOpened.get('a').length === 10,
  fixture: fixtureOpened.info.metadata.format === 'openvino-ir',
}));
`;

/** Imports every entry an outside project would, with the types it would write against. */
const CONSUMER = `
import { seal, open, type Identity, type Recipient, type OpenedContainer, type ContainerSource } from '@ovseal/container';
import { providerConformanceChecks, type ProviderUnderTest } from '@ovseal/container/testkit';
import { writeFileAtomic } from '@ovseal/atomic-file';
import { FileIdentity, FileRecipient, EnvIdentity } from '@ovseal/key-file';
import { EnvRecipient } from '@ovseal/key-env';
import { KmsIdentity, KmsRecipient } from '@ovseal/key-kms';
import { TpmEcdhRecipient, tpmIdentityFromUri } from '@ovseal/key-tpm';
import { startSwtpm } from '@ovseal/key-tpm/testing';
import { Pkcs11Identity } from '@ovseal/key-pkcs11';
import { startKmsLocal as startServer } from '@ovseal/kms-local';
import { openModel, loadOpenVino, RollbackError, type OpenedModel, type LoadedOpenVinoModel } from '@ovseal/loader';
import { loadOpenVinoC } from '@ovseal/openvino-c';
import { sealedFixture, startKmsLocal, type TestKms } from '@ovseal/testkit';
import { main, type KeyProviderPlugin } from '@ovseal/cli';
import { signDeviceRequest, type KeyReleaseResponse } from '@ovseal/broker-protocol';

export async function consume(source: ContainerSource, identity: Identity, recipient: Recipient): Promise<OpenedContainer> {
  const used: unknown[] = [seal, providerConformanceChecks, writeFileAtomic, FileIdentity, FileRecipient, EnvIdentity, EnvRecipient, KmsIdentity, KmsRecipient, TpmEcdhRecipient, tpmIdentityFromUri, startSwtpm, Pkcs11Identity, startServer, loadOpenVino, RollbackError, loadOpenVinoC, sealedFixture, startKmsLocal, main, signDeviceRequest];
  const subject: ProviderUnderTest = { name: 'x', recipient, identity, otherIdentity: identity };
  const plugin: KeyProviderPlugin = { recipientFromUri: () => recipient };
  const kms: TestKms | undefined = undefined;
  const model: OpenedModel = await openModel(source, { identities: [identity] });
  const loaded: LoadedOpenVinoModel | undefined = undefined;
  const release: KeyReleaseResponse | undefined = undefined;
  void [used, subject, plugin, kms, model, loaded, release];
  return open(source, { identities: [identity] });
}
`;
