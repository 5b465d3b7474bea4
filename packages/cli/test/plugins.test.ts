/**
 * Third-party key providers by URI scheme (README, "Plugins"): an installed package
 * `ovseal-provider-SCHEME` and an executable `ovseal-plugin-SCHEME` on the PATH. Both keep the
 * provider contract (@ovseal/container/testkit) and seal and open containers through the real
 * binary; a built-in scheme is never taken over, and an unknown one says how to add it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, test } from 'vitest';
import { providerConformanceChecks, type ProviderUnderTest } from '@ovseal/container/testkit';
import { parseHeader } from '../../container/dist/lib/format/header-codec.js';
import { loadPluginScheme } from '../src/lib/plugins.js';
import { ovseal, tempDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoContainer = join(here, '..', '..', 'container');
const work = tempDir();
const project = join(work.dir, 'project');
const bin = join(work.dir, 'bin');
const env = { PATH: `${bin}${delimiter}${process.env['PATH'] ?? ''}` };
const hexKey = () => randomBytes(32).toString('hex');

beforeAll(() => {
  // An installed provider package, resolved from the working directory.
  const provider = join(project, 'node_modules', 'ovseal-provider-pkgkek');
  mkdirSync(provider, { recursive: true });
  writeFileSync(
    join(provider, 'package.json'),
    JSON.stringify({ name: 'ovseal-provider-pkgkek', version: '1.0.0', type: 'module', exports: { '.': { import: './index.mjs' } } }),
  );
  copyFileSync(join(here, 'plugins', 'ovseal-provider-pkgkek.mjs'), join(provider, 'index.mjs'));
  copyFileSync(join(here, 'plugins', 'xkek-core.mjs'), join(provider, 'xkek-core.mjs'));
  mkdirSync(join(project, 'node_modules', '@ovseal'), { recursive: true });
  symlinkSync(repoContainer, join(project, 'node_modules', '@ovseal', 'container'));
  // A decoy: a package for a built-in scheme is never used.
  const decoy = join(project, 'node_modules', 'ovseal-provider-file');
  mkdirSync(decoy, { recursive: true });
  writeFileSync(join(decoy, 'package.json'), JSON.stringify({ name: 'ovseal-provider-file', type: 'module', main: 'index.mjs' }));
  writeFileSync(join(decoy, 'index.mjs'), 'export function recipientFromUri() { throw new Error("the decoy was used"); }\n');
  // An executable on the PATH.
  mkdirSync(bin, { recursive: true });
  for (const file of ['ovseal-plugin-xkek.mjs', 'xkek-core.mjs']) copyFileSync(join(here, 'plugins', file), join(bin, file));
  writeFileSync(join(bin, 'ovseal-plugin-xkek'), `#!/bin/sh\nexec "${process.execPath}" "$(dirname "$0")/ovseal-plugin-xkek.mjs" "$@"\n`);
  chmodSync(join(bin, 'ovseal-plugin-xkek'), 0o755);
  writeFileSync(join(project, 'model.onnx'), randomBytes(5000));
});
afterAll(() => work.cleanup());

async function pluginSubject(scheme: string): Promise<ProviderUnderTest> {
  const found = await loadPluginScheme(scheme, { cwd: project, env });
  if (!found?.recipient || !found.identity) throw new Error(`no plugin for ${scheme}`);
  const key = hexKey();
  return {
    name: `${scheme} (${found.source})`,
    recipient: await found.recipient(`${scheme}:${key}`),
    identity: await found.identity(`${scheme}:${key}`),
    otherIdentity: await found.identity(`${scheme}:${hexKey()}`),
  };
}

for (const scheme of ['pkgkek', 'xkek']) {
  describe(`plugin ${scheme} keeps the provider contract`, () => {
    let subject: ProviderUnderTest;
    beforeAll(async () => {
      subject = await pluginSubject(scheme);
    });
    for (const check of providerConformanceChecks(() => subject)) test(check.name, () => check.run());
  });
}

describe('plugins through the ovseal binary', () => {
  it.each(['pkgkek', 'xkek'])('%s: seal -r, open -i, another key is exit 3, a tampered stanza exit 4', (scheme) => {
    const key = hexKey();
    const sealed = ovseal(project, ['seal', 'model.onnx', '-r', `${scheme}:${key}`, '-o', `${scheme}.ovseal`], env);
    expect(sealed.stderr).not.toContain('error');
    expect(sealed.code).toBe(0);
    expect(ovseal(project, ['inspect', `${scheme}.ovseal`, '--json'], env).stdout).toContain(`"type": "${scheme}"`);
    const opened = ovseal(project, ['open', `${scheme}.ovseal`, '-i', `${scheme}:${key}`, '-o', `out-${scheme}`], env);
    expect(opened.code).toBe(0);
    expect(readFileSync(join(project, `out-${scheme}`, 'model.onnx')).equals(readFileSync(join(project, 'model.onnx')))).toBe(true);
    expect(ovseal(project, ['open', `${scheme}.ovseal`, '-i', `${scheme}:${hexKey()}`, '-o', 'never'], env).code).toBe(3);
    // Flip the last byte of the plugin's stanza body (its GCM tag): the plugin itself refuses it.
    const bytes = readFileSync(join(project, `${scheme}.ovseal`));
    const body = parseHeader(bytes.subarray(0, bytes.readUInt32BE(8))).stanzas[0]!.body;
    const tag = bytes.indexOf(Buffer.from(body)) + body.length - 1;
    bytes[tag]! ^= 1;
    writeFileSync(join(project, `${scheme}-bad.ovseal`), bytes);
    const refused = ovseal(project, ['open', `${scheme}-bad.ovseal`, '-i', `${scheme}:${key}`, '-o', 'never'], env);
    expect(refused.stderr).toContain('ovseal: error: authentication failed');
    expect(refused.code).toBe(4);
  });

  it('a built-in scheme is never taken over by a package of its name', () => {
    writeFileSync(join(project, 'k.key'), '');
    const keygen = ovseal(project, ['keygen', '-o', 'file.key'], env);
    expect(keygen.code).toBe(0);
    const sealed = ovseal(project, ['seal', 'model.onnx', '-r', 'file:file.key', '-o', 'file.ovseal'], env);
    expect(sealed.stderr).not.toContain('decoy');
    expect(sealed.code).toBe(0);
  });

  it('an unknown scheme is a usage error that says how to add a provider for it', () => {
    const result = ovseal(project, ['seal', 'model.onnx', '-r', 'yubikey:slot-1', '-o', 'x.ovseal'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown key URI scheme "yubikey"');
    expect(result.stderr).toContain('ovseal-provider-yubikey');
    expect(result.stderr).toContain('ovseal-plugin-yubikey');
  });

  it('a plugin that fails is exit 7 with its own message; a broken one is reported, not trusted', () => {
    const bad = ovseal(project, ['seal', 'model.onnx', '-r', 'xkek:not-hex', '-o', 'x.ovseal'], env);
    expect(bad.code).toBe(7);
    expect(bad.stderr).toContain('does not name a 32-byte hex key');
    writeFileSync(join(bin, 'ovseal-plugin-liar'), '#!/bin/sh\necho \'{"stanzas":[{"type":"liar","args":[],"body":"%%%"}]}\'\n');
    chmodSync(join(bin, 'ovseal-plugin-liar'), 0o755);
    const liar = ovseal(project, ['seal', 'model.onnx', '-r', 'liar:x', '-o', 'x.ovseal'], env);
    expect(liar.code).toBe(7);
    expect(liar.stderr).toContain('a stanza body is not base64');
  });
});
