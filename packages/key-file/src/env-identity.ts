import { FileIdentity } from './file-identity.js';
import { readEnvKey } from './read-env-key.js';

/**
 * Unwraps `env` and `file` stanzas with a key taken from an environment variable.
 *
 * @example
 * ```ts
 * const model = await open('m.ovseal', { identities: [EnvIdentity.fromEnv('OVSEAL_KEY')] });
 * ```
 */
export class EnvIdentity extends FileIdentity {
  static fromEnv(name: string, env: NodeJS.ProcessEnv = process.env): EnvIdentity {
    return new EnvIdentity(readEnvKey(name, env));
  }
}
