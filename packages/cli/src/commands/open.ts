import { open as openContainer } from '@ovseal/container';
import { extractEntries } from '../lib/extract.js';
import { list, parse, requireOne } from '../lib/args.js';
import { printJson, say, UsageError, warn, type Io } from '../lib/output.js';
import { progressBar } from '../lib/progress.js';
import { trustFrom } from '../lib/trust.js';
import { identityFromUri } from '../lib/uris.js';
import { withJournalHint } from '../lib/journal-hint.js';

export const openHelp = `Usage: ovseal open CONTAINER -i URI [-i URI...] -o DIR [--trust PUB...] [--force] [--json]

Decrypts every entry to DIR, for debugging. This writes the plaintext model to disk: devices
load containers in memory with @ovseal/loader instead. Files appear only once the whole container
has been authenticated; nothing is left behind on failure. Nothing is written through a symbolic
link below DIR; directories are created mode 0700.
  -i, --identity URI    a key that can open it (repeatable): file:KEY, env:VAR, aws-kms:ARN, tpm:…
  -o, --out DIR         where to write the entries
      --trust PUB       require a signature by this publisher key (repeatable)
      --force           overwrite existing files`;

export async function open(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    identity: { type: 'string', short: 'i', multiple: true },
    out: { type: 'string', short: 'o' },
    trust: { type: 'string', multiple: true },
    force: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('open takes one container', 'ovseal open model.ovseal -i file:model.key -o out/');
  const out = requireOne(values.out, '-o/--out DIR', 'ovseal open model.ovseal -i file:model.key -o out/');
  const uris = list(values.identity);
  if (uris.length === 0) throw new UsageError('missing -i/--identity', 'pass the key the container was sealed to, e.g. -i file:model.key');
  const identities = await Promise.all(uris.map(identityFromUri));
  const progress = progressBar(io, 'opening', !values.json);
  const trust = await trustFrom(list(values.trust));
  const model = await withJournalHint(positionals[0]!, () =>
    openContainer(positionals[0]!, { identities, trust, onProgress: (done, total) => progress.update(done, total) }),
  );
  progress.done();
  try {
    const signer = model.info.signature;
    if (signer && !trust)
      warn(
        io,
        `the container is signed by ${signer.keyId.slice(0, 16)}…, but no --trust was given: the signature is valid, the signer was not checked`,
      );
    warn(io, `writing the decrypted model to ${out}: plaintext on disk (devices should load it in memory with @ovseal/loader)`);
    const files = await extractEntries(model.entries, out, values.force === true);
    if (values.json) printJson(io, { ok: true, files, model: { name: model.info.metadata.name, version: model.info.metadata.version } });
    else
      say(
        io,
        `opened ${model.info.metadata.name} ${model.info.metadata.version}: ${files.length} file${files.length === 1 ? '' : 's'} in ${out}`,
      );
  } finally {
    model.dispose();
  }
  return 0;
}
