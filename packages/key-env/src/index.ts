/**
 * `@ovseal/key-env` is kept as a compatible entry: `env` keys now live in `@ovseal/key-file`
 * (`EnvRecipient`, `EnvIdentity`, `readEnvKey`), which already made and opened `env` stanzas. New
 * code imports them from there.
 */
export { readEnvKey, EnvRecipient, EnvIdentity } from '@ovseal/key-file';
