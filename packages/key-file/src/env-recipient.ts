import { FileRecipient } from './file-recipient.js';
import { readEnvKey } from './read-env-key.js';

/**
 * Wraps the data key under a key taken from an environment variable (stanza type `env`). The
 * stanza is the same construction as `file`, so the same key in a file opens it too.
 *
 * @example
 * ```ts
 * const recipient = EnvRecipient.fromEnv('OVSEAL_KEY');
 * ```
 */
export class EnvRecipient extends FileRecipient {
  protected override readonly stanzaType = 'env' as const;

  static fromEnv(name: string, env: NodeJS.ProcessEnv = process.env): EnvRecipient {
    return new EnvRecipient(readEnvKey(name, env));
  }
}
