import type { Stanza } from '@ovseal/container';
import { inspect, recoverRewrap, rewrap as rewrapContainer } from '@ovseal/container';
import { list, parse } from '../lib/args.js';
import { printJson, say, UsageError, type Io } from '../lib/output.js';
import { identityFromUri, recipientFromUri, stanzaSelector } from '../lib/uris.js';

export const rewrapHelp = `Usage: ovseal rewrap CONTAINER -i URI [--add URI...] [--remove URI|TYPE...] [-o OUT] [--json]
       ovseal rewrap --recover CONTAINER

Adds or removes recipients by rewriting the header only: the payload is not decrypted or copied
(unless the new header outgrows the reserved space, or -o writes a new file). Signatures stay valid.
  -i, --identity URI  a key that opens the container now
      --add URI       a recipient to add (repeatable)
      --remove URI    remove the stanzas of this recipient, or of a stanza TYPE (repeatable)
      --recover       undo an interrupted in-place rewrap (restores the header it saved)`;

export async function rewrap(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    identity: { type: 'string', short: 'i', multiple: true },
    add: { type: 'string', multiple: true },
    remove: { type: 'string', multiple: true },
    out: { type: 'string', short: 'o' },
    recover: { type: 'boolean' },
  });
  if (values.recover) return recover(positionals, values.json === true, io);
  if (positionals.length !== 1) throw new UsageError('rewrap takes one container', 'ovseal rewrap m.ovseal -i file:old.key --add file:new.key');
  const identities = await Promise.all(list(values.identity).map(identityFromUri));
  if (identities.length === 0) throw new UsageError('missing -i/--identity', 'rewrapping needs a key that opens the container now');
  const add = await Promise.all(list(values.add).map(recipientFromUri));
  const selectors = await Promise.all(list(values.remove).map(stanzaSelector));
  if (add.length === 0 && selectors.length === 0) throw new UsageError('nothing to do', 'pass --add URI or --remove URI');
  // Check --remove before touching the file: a typo must not rewrite the header.
  if (selectors.length > 0) {
    const current = (await inspect(positionals[0]!)).recipients.map((r) => ({ ...r, body: new Uint8Array(0) }));
    if (!current.some((stanza) => selectors.some((matches) => matches(stanza)))) {
      throw new UsageError('no stanza matched --remove', 'see the recipients with `ovseal inspect`');
    }
  }
  const result = await rewrapContainer(positionals[0]!, {
    identities,
    add,
    remove: (stanza: Stanza) => selectors.some((matches) => matches(stanza)),
    ...(values.out ? { output: values.out } : {}),
  });
  if (values.json) printJson(io, { ok: true, added: result.added, removed: result.removed, inPlace: result.inPlace, recipients: result.info.recipients });
  else say(io, `added ${result.added}, removed ${result.removed} recipient stanza(s)${result.inPlace ? ' (header rewritten in place)' : ' (new file written)'}`);
  return 0;
}

async function recover(positionals: string[], json: boolean, io: Io): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('--recover takes one container', 'ovseal rewrap --recover model.ovseal');
  const restored = await recoverRewrap(positionals[0]!);
  if (json) printJson(io, { ok: true, restored });
  else say(io, restored ? `restored the header of ${positionals[0]} saved by an interrupted rewrap` : `no interrupted rewrap of ${positionals[0]}: nothing to recover`);
  return 0;
}
