import type { Stanza } from '@ovseal/container';
import { inspect, recoverRewrap, rekey, rewrap as rewrapContainer } from '@ovseal/container';
import { list, parse } from '../lib/args.js';
import { printJson, say, UsageError, warn, type Io } from '../lib/output.js';
import { progressBar } from '../lib/progress.js';
import { openSigner } from '../lib/signer.js';
import { identityFromUri, recipientFromUri, stanzaSelector } from '../lib/uris.js';

export const rewrapHelp = `Usage: ovseal rewrap CONTAINER -i URI [--add URI...] [--remove URI|TYPE...] [-o OUT] [--json]
       ovseal rewrap CONTAINER -i URI --rekey --add URI [--add URI...] [--sign KEY] [-o OUT]
       ovseal rewrap --recover CONTAINER

Adds or removes recipients by rewriting the header only: the payload is not decrypted or copied
(unless the new header outgrows the reserved space, or -o writes a new file). Signatures stay valid.
  -i, --identity URI  a key that opens the container now
      --add URI       a recipient to add (repeatable); with --rekey, every recipient to keep
      --remove URI    remove the stanzas of this recipient, or of a stanza TYPE (repeatable)
      --rekey         seal the payload again under a new data key, for the --add recipients only
      --sign KEY      with --rekey: sign the new container (else its signature is dropped)
      --recover       undo an interrupted in-place rewrap (restores the header it saved)

--remove is not enough to cut a key off: the data key stays the same, so the removed key still
opens a copy of the file it kept, or this file with its old header spliced back on. Use --rekey
(a new data key; the payload is decrypted and re-encrypted in one streaming pass).`;

export async function rewrap(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    identity: { type: 'string', short: 'i', multiple: true },
    add: { type: 'string', multiple: true },
    remove: { type: 'string', multiple: true },
    out: { type: 'string', short: 'o' },
    recover: { type: 'boolean' },
    rekey: { type: 'boolean' },
    sign: { type: 'string' },
  });
  if (values.recover) return recover(positionals, values.json === true, io);
  if (values.rekey) return rekeyContainer(positionals, values, io);
  if (values.sign) throw new UsageError('--sign goes with --rekey', 'a plain rewrap keeps the signature as it is');
  if (positionals.length !== 1)
    throw new UsageError('rewrap takes one container', 'ovseal rewrap m.ovseal -i file:old.key --add file:new.key');
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
  if (values.json)
    printJson(io, { ok: true, added: result.added, removed: result.removed, inPlace: result.inPlace, recipients: result.info.recipients });
  else
    say(
      io,
      `added ${result.added}, removed ${result.removed} recipient stanza(s)${result.inPlace ? ' (header rewritten in place)' : ' (new file written)'}`,
    );
  return 0;
}

async function rekeyContainer(
  positionals: string[],
  values: { identity?: string[]; add?: string[]; remove?: string[]; out?: string; sign?: string; json?: boolean },
  io: Io,
): Promise<number> {
  if (positionals.length !== 1)
    throw new UsageError('rewrap takes one container', 'ovseal rewrap m.ovseal -i file:old.key --rekey --add file:new.key');
  if (list(values.remove).length > 0)
    throw new UsageError('--remove does not go with --rekey', 'with --rekey every old stanza goes: list the recipients to keep with --add');
  const identities = await Promise.all(list(values.identity).map(identityFromUri));
  if (identities.length === 0) throw new UsageError('missing -i/--identity', 'rekeying needs a key that opens the container now');
  const recipients = await Promise.all(list(values.add).map(recipientFromUri));
  if (recipients.length === 0)
    throw new UsageError(
      '--rekey needs the recipients of the new container',
      'name each one to keep with --add (the old stanzas wrap the old key)',
    );
  const path = positionals[0]!;
  const signedBefore = (await inspect(path)).signature;
  // The same signers `seal --sign` takes (a PEM file, pkcs11:…, aws-kms:…).
  const opened = values.sign ? await openSigner(values.sign, io) : undefined;
  const signer = opened?.signer;
  const progress = progressBar(io, 'rekeying', !values.json);
  let result;
  try {
    result = await rekey(path, {
      identities,
      recipients,
      ...(signer ? { signer } : {}),
      ...(values.out ? { output: values.out } : {}),
      onProgress: (done, total) => progress.update(done, total),
    });
  } finally {
    await opened?.close();
  }
  progress.done();
  if (signedBefore && !signer)
    warn(
      io,
      `the signature by ${signedBefore.keyId.slice(0, 16)}… was dropped: it covered the old payload (pass --sign KEY to sign the new one)`,
    );
  if (values.json)
    printJson(io, {
      ok: true,
      rekeyed: true,
      containerId: result.info.containerId,
      recipients: result.info.recipients,
      signature: result.info.signature ? { keyId: result.info.signature.keyId } : null,
    });
  else
    say(
      io,
      `rekeyed ${path}${values.out ? ` into ${values.out}` : ''}: a new data key for ${recipients.length} recipient${recipients.length === 1 ? '' : 's'}${result.info.signature ? ', signed' : ''}`,
    );
  return 0;
}

async function recover(positionals: string[], json: boolean, io: Io): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('--recover takes one container', 'ovseal rewrap --recover model.ovseal');
  const restored = await recoverRewrap(positionals[0]!);
  if (json) printJson(io, { ok: true, restored });
  else
    say(
      io,
      restored
        ? `restored the header of ${positionals[0]} saved by an interrupted rewrap`
        : `no interrupted rewrap of ${positionals[0]}: nothing to recover`,
    );
  return 0;
}
