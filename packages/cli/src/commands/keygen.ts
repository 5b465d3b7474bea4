import { encodeKey, generateKey, keyId, writeKeyFile } from '@ovseal/key-file';
import { parse } from '../lib/args.js';
import { printJson, say, type Io } from '../lib/output.js';

export const keygenHelp = `Usage: ovseal keygen [-o KEYFILE] [--json]

Creates a 256-bit key-encryption key. With -o it is written to KEYFILE (mode 0600, never
overwriting); without, the key line is printed on stdout (for a secret store or env:NAME).`;

export async function keygen(argv: string[], io: Io): Promise<number> {
  const { values } = parse(argv, { out: { type: 'string', short: 'o' } });
  const key = generateKey();
  const id = keyId(key);
  if (values.out) {
    await writeKeyFile(values.out, key);
    if (values.json) printJson(io, { ok: true, keyId: id, path: values.out, recipient: `file:${values.out}` });
    else say(io, `wrote key ${id} to ${values.out} (recipient: file:${values.out})`);
  } else if (values.json) {
    printJson(io, { ok: true, keyId: id, key: encodeKey(key) });
  } else {
    io.stdout.write(`${encodeKey(key)}\n`);
  }
  return 0;
}
