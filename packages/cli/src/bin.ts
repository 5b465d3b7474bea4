#!/usr/bin/env node
import { main } from './main.js';

// The AWS SDK warns on every run that its 2027 releases will need Node 22. That is a note for the
// package's maintainers (see packages/key-kms/README.md), not for someone sealing a model, and it
// would break `ovseal: …`-only stderr. Other warnings pass through.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  const name = warning instanceof Error ? warning.name : type;
  if (name === 'NodeVersionSupportWarning' || String(warning).includes('NodeVersionSupportWarning')) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
};

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;
