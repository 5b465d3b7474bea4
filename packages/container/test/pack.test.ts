/**
 * Packaging: the published tarballs of @ovseal/container and @ovseal/key-file install into a
 * fresh project outside the repo and seal and open a model there (worker threads included, so the
 * worker file must be in the tarball).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { REPO_ROOT, REQUIRE_ALL } from './helpers.js';

const PACKAGES = ['atomic-file', 'container', 'key-file'];

function available(command: string): boolean {
  return spawnSync(command, ['--version'], { encoding: 'utf8' }).status === 0;
}

const missing = ['pnpm', 'npm'].filter((command) => !available(command));
const work = mkdtempSync(join(tmpdir(), 'ovseal-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SCRIPT = `
import { readFile, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { seal, open, verify, inspect, generateSigningKey } from '@ovseal/container';
import { FileRecipient, FileIdentity, generateKey, writeKeyFile } from '@ovseal/key-file';

const weights = randomBytes(3 * 1024 * 1024 + 5);
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
  segmentSize: 65536,
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
console.log(JSON.stringify({ results, signer: verified.signature?.keyId === publisher.keyId, format: info.metadata.format }));
`;

if (missing.length > 0 && !REQUIRE_ALL) {
  console.warn(`\n*** SKIPPING the packaging test: ${missing.join(' and ')} not found on PATH ***\n`);
  test.skip(`packaging (${missing.join(', ')} missing)`, () => {});
} else {
  test('the packed tarballs install outside the repo and seal and open a model there', () => {
    expect(missing, `needed on PATH: ${missing.join(', ')}`).toEqual([]);
    for (const name of PACKAGES) {
      const dist = join(REPO_ROOT, 'packages', name, 'dist', 'index.js');
      expect(existsSync(dist), `${dist} missing: run pnpm build first`).toBe(true);
    }
    const tarballs = join(work, 'tarballs');
    for (const name of PACKAGES) {
      execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(REPO_ROOT, 'packages', name), stdio: 'pipe' });
    }
    const files = readdirSync(tarballs).filter((f) => f.endsWith('.tgz')).sort();
    expect(files).toEqual([expect.stringMatching(/^ovseal-atomic-file-.*\.tgz$/), expect.stringMatching(/^ovseal-container-.*\.tgz$/), expect.stringMatching(/^ovseal-key-file-.*\.tgz$/)]);

    // What the container tarball ships: compiled code (worker included), no sources, no tests.
    const listing = execFileSync('tar', ['-tzf', join(tarballs, files[1]!)], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/lib/decrypt-worker.js');
    expect(listing.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toEqual([]);
    // workspace:^ was rewritten to a real range.
    const keyFileManifest = JSON.parse(execFileSync('tar', ['-xzOf', join(tarballs, files[2]!), 'package/package.json'], { encoding: 'utf8' }));
    expect(keyFileManifest.dependencies['@ovseal/container']).toMatch(/^\^?\d+\.\d+\.\d+/);

    const project = join(work, 'project');
    mkdirSync(project, { recursive: true });
    expect(project.startsWith(REPO_ROOT)).toBe(false);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module' }));
    // Both tarballs in one command, so key-file's dependency on the container resolves to the tarball.
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...files.map((f) => join(tarballs, f))], { cwd: project, stdio: 'pipe', timeout: 110_000 });
    writeFileSync(join(project, 'roundtrip.mjs'), SCRIPT);
    const output = execFileSync(process.execPath, ['roundtrip.mjs'], { cwd: project, encoding: 'utf8', timeout: 110_000 });
    expect(JSON.parse(output.trim().split('\n').at(-1)!)).toEqual({ results: [true, true, true, true], signer: true, format: 'openvino-ir' });
  });
}
