import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Identity, Recipient } from '@ovseal/container';
import { ExecutableIdentity, ExecutableRecipient } from './executable-plugin.js';
import type { KeyScheme } from './key-schemes.js';
import { PluginError } from './plugin-error.js';

/**
 * What an installed provider package `ovseal-provider-SCHEME` exports (named exports, or a default
 * export object with them): at least one of the two.
 */
export interface KeyProviderPlugin {
  /** `-r SCHEME:…`, `--add SCHEME:…`: a recipient for the URI. */
  recipientFromUri?(uri: string): Recipient | Promise<Recipient>;
  /** `-i SCHEME:…`: an identity for the URI. */
  identityFromUri?(uri: string): Identity | Promise<Identity>;
}

/**
 * A plugin for `scheme`, by the convention in packages/cli/README.md ("Plugins"): an installed
 * package `ovseal-provider-SCHEME` (found from the working directory up, then from where the CLI is
 * installed), else an executable `ovseal-plugin-SCHEME` on the PATH; `undefined` when neither exists.
 */
export async function loadPluginScheme(
  scheme: string,
  where: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<KeyScheme | undefined> {
  const name = `ovseal-provider-${scheme}`;
  const entry =
    (await packageEntry(name, where.cwd ?? process.cwd())) ?? (await packageEntry(name, dirname(fileURLToPath(import.meta.url))));
  if (entry) return packageScheme(name, entry);
  const executable = await onPath(`ovseal-plugin-${scheme}`, (where.env ?? process.env)['PATH'] ?? '');
  if (executable) {
    return {
      source: executable,
      recipient: async (uri) => new ExecutableRecipient(executable, uri),
      identity: async (uri) => new ExecutableIdentity(executable, uri),
    };
  }
  return undefined;
}

async function packageScheme(name: string, entry: string): Promise<KeyScheme> {
  let module: KeyProviderPlugin & { default?: KeyProviderPlugin };
  try {
    module = (await import(pathToFileURL(entry).href)) as typeof module;
  } catch (cause) {
    throw new PluginError('ERR_PLUGIN_LOAD', `${name} (${entry}) cannot be loaded: ${(cause as Error).message}`, { cause });
  }
  const plugin: KeyProviderPlugin =
    typeof module.recipientFromUri === 'function' || typeof module.identityFromUri === 'function' ? module : (module.default ?? {});
  const hasRecipient = typeof plugin.recipientFromUri === 'function';
  const hasIdentity = typeof plugin.identityFromUri === 'function';
  if (!hasRecipient && !hasIdentity)
    throw new PluginError('ERR_PLUGIN_LOAD', `${name} exports neither recipientFromUri nor identityFromUri`);
  return {
    source: name,
    ...(hasRecipient ? { recipient: async (uri: string) => plugin.recipientFromUri!(uri) } : {}),
    ...(hasIdentity ? { identity: async (uri: string) => plugin.identityFromUri!(uri) } : {}),
  };
}

/** The ESM entry file of package `name` in a node_modules folder from `start` upwards. */
async function packageEntry(name: string, start: string): Promise<string | undefined> {
  for (let dir = start; ; dir = dirname(dir)) {
    const root = join(dir, 'node_modules', name);
    const manifest = await readFile(join(root, 'package.json'), 'utf8').then(
      (text) => JSON.parse(text) as { exports?: unknown; main?: string },
      () => undefined,
    );
    if (manifest) return join(root, entryOf(manifest) ?? 'index.js');
    if (dirname(dir) === dir) return undefined;
  }
}

/** `exports["."]` (a string, or its `import`/`node`/`default` condition), else `main`. */
function entryOf(manifest: { exports?: unknown; main?: string }): string | undefined {
  const exports = manifest.exports;
  const dot = typeof exports === 'string' ? exports : ((exports as Record<string, unknown> | undefined)?.['.'] ?? exports);
  if (typeof dot === 'string') return dot;
  if (dot && typeof dot === 'object') {
    for (const condition of ['import', 'node', 'default']) {
      const target = (dot as Record<string, unknown>)[condition];
      if (typeof target === 'string') return target;
    }
  }
  return manifest.main;
}

async function onPath(command: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}
