import { seal as sealContainer } from '@ovseal/container';
import { list, parse, parseDate, parseSize, requireOne } from '../lib/args.js';
import { defaultModelName, sealEntries } from '../lib/inputs.js';
import { printJson, say, UsageError, type Io } from '../lib/output.js';
import { progressBar } from '../lib/progress.js';
import { openSigner } from '../lib/signer.js';
import { recipientFromUri } from '../lib/uris.js';
import { describe } from './inspect.js';

export const sealHelp = `Usage: ovseal seal INPUT... -r URI [-r URI...] -o OUT.ovseal [options]

INPUT is an IR pair (model.xml model.bin), a .onnx file, a compiled .blob, or a directory.
  -r, --recipient URI   who can open it (repeatable): file:KEY, env:VAR, aws-kms:ARN, tpm-ecdh:PEM, …
  -o, --out PATH        the container to write (appears whole or not at all)
      --aux FILE        an extra file to carry along (tokenizer, labels; repeatable)
      --name NAME       model name (default: the first input's name)
      --model-version V model version (default: 1)
      --sign KEY        publisher signing key: a PEM (ovseal sign-keygen), pkcs11:… (a key
                        in a token or HSM) or aws-kms:… (an ECC_NIST_P256 SIGN_VERIFY key)
      --not-after DATE  loaders refuse the model after this time (ISO 8601)
      --segment-size N  payload segment size (default 1M)
      --json            print the result as JSON`;

export async function seal(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    recipient: { type: 'string', short: 'r', multiple: true },
    out: { type: 'string', short: 'o' },
    aux: { type: 'string', multiple: true },
    name: { type: 'string' },
    'model-version': { type: 'string' },
    sign: { type: 'string' },
    'not-after': { type: 'string' },
    'segment-size': { type: 'string' },
  });
  const output = requireOne(values.out, '-o/--out', 'ovseal seal model.xml model.bin -r file:model.key -o model.ovseal');
  const uris = list(values.recipient);
  if (uris.length === 0)
    throw new UsageError('missing -r/--recipient', 'create a key with `ovseal keygen -o model.key`, then pass -r file:model.key');
  const entries = sealEntries(positionals, list(values.aux));
  const recipients = await Promise.all(uris.map(recipientFromUri));
  const opened = values.sign ? await openSigner(values.sign, io) : undefined;
  const signer = opened?.signer;
  const progress = progressBar(io, 'sealing', !values.json);
  const info = await sealContainer({
    output,
    entries,
    metadata: {
      name: values.name ?? defaultModelName(entries),
      version: values['model-version'] ?? '1',
      ...(values['not-after'] ? { notAfter: parseDate(values['not-after'], '--not-after') } : {}),
    },
    recipients,
    ...(signer ? { signer } : {}),
    ...(values['segment-size'] ? { segmentSize: parseSize(values['segment-size']) } : {}),
    onProgress: (done, total) => progress.update(done, total),
  }).finally(() => opened?.close());
  progress.done();
  if (values.json) printJson(io, { ok: true, output, ...describe(info) });
  else
    say(
      io,
      `sealed ${info.entries.length} ${info.entries.length === 1 ? 'entry' : 'entries'} (${info.metadata.format}, ${info.totalSize} bytes) to ${output} for ${uris.length} recipient${uris.length === 1 ? '' : 's'}${info.signature ? `, signed (${info.signature.algorithm} ${info.signature.keyId})` : ''}`,
    );
  return 0;
}
