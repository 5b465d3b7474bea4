import { verify as verifyContainer } from '@ovseal/container';
import { list, parse } from '../lib/args.js';
import { printJson, say, UsageError, warn, type Io } from '../lib/output.js';
import { progressBar } from '../lib/progress.js';
import { trustFrom } from '../lib/trust.js';
import { identityFromUri } from '../lib/uris.js';
import { withJournalHint } from '../lib/journal-hint.js';

export const verifyHelp = `Usage: ovseal verify CONTAINER [--trust PUB...] [--require-signature] [-i URI...] [--json]

Without a key: checks the publisher signature and the payload digest it covers. With -i: also the
key commitment, the header MAC and every payload tag (nothing is written). Exit 0 only if all pass.
  --trust PUB           a trusted publisher key (repeatable): the .pub of ovseal sign-keygen, or
                        the SPKI PEM/DER that aws kms get-public-key or pkcs11-tool exports`;

export async function verify(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    identity: { type: 'string', short: 'i', multiple: true },
    trust: { type: 'string', multiple: true },
    'require-signature': { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('verify takes one container', 'ovseal verify model.ovseal --trust publisher.pem.pub');
  const identities = await Promise.all(list(values.identity).map(identityFromUri));
  const progress = progressBar(io, 'verifying', !values.json);
  const trust = await trustFrom(list(values.trust));
  const result = await withJournalHint(positionals[0]!, () =>
    verifyContainer(positionals[0]!, {
      identities,
      trust,
      requireSignature: values['require-signature'] === true,
      onProgress: (done, total) => progress.update(done, total),
    }),
  );
  progress.done();
  if (!result.signature && !result.decrypted) {
    throw new UsageError(
      'nothing was verified: the container is unsigned and no identity was given',
      'pass -i KEY to check it with a key, or --require-signature',
    );
  }
  if (values.json) {
    printJson(io, {
      ok: true,
      signature: result.signature ? { algorithm: result.signature.algorithm, keyId: result.signature.keyId } : null,
      decrypted: result.decrypted,
    });
  } else {
    if (result.signature)
      say(
        io,
        `signature ok: ${result.signature.algorithm} by ${result.signature.keyId}${values.trust ? ' (trusted)' : ''}, payload digest matches`,
      );
    if (result.signature && !values.trust) warn(io, 'the signer was not checked against a trusted key (pass --trust PUB)');
    if (result.decrypted) say(io, 'authenticated with a key: header MAC and every payload tag ok');
  }
  return 0;
}
