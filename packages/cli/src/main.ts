import { inspect, inspectHelp } from './commands/inspect.js';
import { keygen, keygenHelp } from './commands/keygen.js';
import { open, openHelp } from './commands/open.js';
import { rewrap, rewrapHelp } from './commands/rewrap.js';
import { seal, sealHelp } from './commands/seal.js';
import { signKeygen, signKeygenHelp } from './commands/sign-keygen.js';
import { tpm, tpmHelp } from './commands/tpm.js';
import { verify, verifyHelp } from './commands/verify.js';
import { reportError, UsageError, type Io } from './lib/output.js';
import { CLI_VERSION } from './lib/version.js';
import { FORMAT_VERSION } from '@ovseal/container';

const COMMANDS: Record<string, { run: (argv: string[], io: Io) => Promise<number>; help: string }> = {
  keygen: { run: keygen, help: keygenHelp },
  seal: { run: seal, help: sealHelp },
  open: { run: open, help: openHelp },
  inspect: { run: inspect, help: inspectHelp },
  verify: { run: verify, help: verifyHelp },
  rewrap: { run: rewrap, help: rewrapHelp },
  'sign-keygen': { run: signKeygen, help: signKeygenHelp },
  tpm: { run: tpm, help: tpmHelp },
};

export const USAGE = `ovseal: protected deployment of OpenVINO models

Usage: ovseal COMMAND [options]     (ovseal COMMAND --help for details)

  keygen        create a key-encryption key
  seal          seal model files into an encrypted, authenticated container
  open          decrypt a container to a directory (debugging; writes plaintext)
  inspect       show a container's header without a key
  verify        check the publisher signature, or everything with a key
  rewrap        add or remove recipients without re-encrypting
  sign-keygen   create a publisher signing key
  tpm           TPM device keys (tpm init, tpm pubkey)

Key URIs: file:KEYFILE  env:VAR  aws-kms:ARN|alias/NAME  tpm-ecdh:PUBKEY  tpm-rsa:PUBKEY  tpm:…  pkcs11:…\n          other schemes: an ovseal-provider-SCHEME package or an ovseal-plugin-SCHEME executable
Exit codes: 0 ok, 1 error, 2 usage, 3 no matching key, 4 corrupt or tampered,
            5 signature, 6 expired or rollback, 7 key unavailable (file, KMS, TPM, PKCS#11)`;

/** Runs one `ovseal` invocation and returns its exit code (never throws). */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`ovseal ${CLI_VERSION} (container format v${FORMAT_VERSION})\n`);
    return 0;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(command.help + '\n');
      return 0;
    }
    return await command.run(rest, io);
  } catch (error) {
    return reportError(io, error, json);
  }
}
