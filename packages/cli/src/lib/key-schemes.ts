import type { Identity, Recipient } from '@ovseal/container';
import { UsageError } from './output.js';
import { loadPluginScheme } from './plugins.js';

/**
 * What answers one or more key URI schemes (`file:`, `aws-kms:`, a plugin's `yubikey:` …): a
 * recipient for `-r`/`--add`, an identity for `-i`, or both.
 */
export interface KeyScheme {
  /** Where it comes from, for messages: `@ovseal/key-file`, `ovseal-provider-yubikey`, … */
  readonly source: string;
  recipient?(uri: string): Promise<Recipient>;
  identity?(uri: string): Promise<Identity>;
}

/**
 * URI schemes and what answers them. The built-in providers are registered by scheme; a scheme
 * nobody registered is looked up as a plugin (`ovseal-provider-SCHEME`, installed, or
 * `ovseal-plugin-SCHEME` on the PATH: packages/cli/README.md, "Plugins"). Provider packages are
 * imported only when their scheme is used, so `ovseal` starts fast and a missing optional provider
 * is reported clearly.
 */
export class KeySchemeRegistry {
  readonly #schemes = new Map<string, KeyScheme>();
  readonly #plugins = new Map<string, Promise<KeyScheme | undefined>>();

  constructor(private readonly findPlugin: (scheme: string) => Promise<KeyScheme | undefined> = (scheme) => loadPluginScheme(scheme)) {}

  /** Registers `scheme` for these URI schemes; a scheme registered twice is a programming error. */
  register(names: readonly string[], scheme: KeyScheme): this {
    for (const name of names) {
      if (this.#schemes.has(name)) throw new Error(`key URI scheme ${name} is registered twice`);
      this.#schemes.set(name, scheme);
    }
    return this;
  }

  /** The schemes registered here (built-ins), in registration order. */
  get names(): string[] {
    return [...this.#schemes.keys()];
  }

  async recipientFromUri(uri: string): Promise<Recipient> {
    const { name, scheme } = await this.#resolve(uri);
    if (!scheme.recipient)
      throw new UsageError(`${name}: URIs name identities only (-i), not recipients`, `${scheme.source} takes ${name}: with -i`);
    return scheme.recipient(uri);
  }

  async identityFromUri(uri: string): Promise<Identity> {
    const { name, scheme } = await this.#resolve(uri);
    if (!scheme.identity)
      throw new UsageError(`${name}: URIs name recipients only (-r, --add), not identities`, `${scheme.source} takes ${name}: with -r`);
    return scheme.identity(uri);
  }

  async #resolve(uri: string): Promise<{ name: string; scheme: KeyScheme }> {
    const colon = uri.indexOf(':');
    if (colon <= 0)
      throw new UsageError(`${JSON.stringify(uri)} is not a key URI`, 'use file:PATH, env:NAME, aws-kms:ARN, tpm-ecdh:PUBKEY, …');
    const name = uri.slice(0, colon);
    const builtIn = this.#schemes.get(name);
    if (builtIn) return { name, scheme: builtIn };
    if (!/^[a-z][a-z0-9+.-]*$/.test(name)) throw this.#unknown(name);
    let plugin = this.#plugins.get(name);
    if (!plugin) {
      plugin = this.findPlugin(name);
      this.#plugins.set(name, plugin);
    }
    const found = await plugin;
    if (!found) throw this.#unknown(name);
    return { name, scheme: found };
  }

  #unknown(name: string): UsageError {
    return new UsageError(
      `unknown key URI scheme ${JSON.stringify(name)}`,
      `use ${this.names.map((scheme) => `${scheme}:`).join(' ')}, or install a plugin for it: the package ovseal-provider-${name}, or an executable ovseal-plugin-${name} on the PATH`,
    );
  }
}
