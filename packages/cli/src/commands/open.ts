import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open as openFile, rename, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { open as openContainer, type OpenedContainer } from '@ovseal/container';
import { list, parse, requireOne } from '../lib/args.js';
import { printJson, say, UsageError, warn, type Io } from '../lib/output.js';
import { progressBar } from '../lib/progress.js';
import { trustFrom } from '../lib/trust.js';
import { identityFromUri } from '../lib/uris.js';
import { withJournalHint } from '../lib/journal-hint.js';

export const openHelp = `Usage: ovseal open CONTAINER -i URI [-i URI...] -o DIR [--trust PUB...] [--force] [--json]

Decrypts every entry to DIR, for debugging. This writes the plaintext model to disk: devices
load containers in memory with @ovseal/loader instead. Files appear only once the whole container
has been authenticated; nothing is left behind on failure.
  -i, --identity URI    a key that can open it (repeatable): file:KEY, env:VAR, aws-kms:ARN, tpm:…
  -o, --out DIR         where to write the entries
      --trust PUB       require a signature by this publisher key (repeatable)
      --force           overwrite existing files`;

/** Writes each entry to a temporary file, then renames them all; on failure removes them. */
async function writeEntries(model: OpenedContainer, directory: string, force: boolean): Promise<string[]> {
  const root = resolve(directory);
  const targets = model.entries.map((entry) => {
    const target = resolve(root, entry.name);
    // Entry names are validated by the parser; this is a second fence against escaping DIR.
    if (!target.startsWith(root + sep)) throw new UsageError(`entry ${entry.name} would escape ${directory}`);
    if (existsSync(target) && !force) throw new UsageError(`${target} exists`, 'pass --force to overwrite');
    return { entry, target, temp: join(dirname(target), `.ovseal-${randomBytes(6).toString('hex')}.tmp`) };
  });
  const written: string[] = [];
  try {
    for (const { entry, temp } of targets) {
      await mkdir(dirname(temp), { recursive: true });
      const file = await openFile(temp, 'wx', 0o600);
      written.push(temp);
      try {
        await file.writeFile(entry.data);
        await file.sync();
      } finally {
        await file.close();
      }
    }
    for (const { target, temp } of targets) await rename(temp, target);
    return targets.map((t) => t.target);
  } catch (error) {
    await Promise.all(written.map((temp) => unlink(temp).catch(() => undefined)));
    throw error;
  }
}

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
    warn(io, `writing the decrypted model to ${out}: plaintext on disk (devices should load it in memory with @ovseal/loader)`);
    const files = await writeEntries(model, out, values.force === true);
    if (values.json) printJson(io, { ok: true, files, model: { name: model.info.metadata.name, version: model.info.metadata.version } });
    else say(io, `opened ${model.info.metadata.name} ${model.info.metadata.version}: ${files.length} file${files.length === 1 ? '' : 's'} in ${out}`);
  } finally {
    model.dispose();
  }
  return 0;
}
