import { OvsealError } from '@ovseal/container';

/** Exit codes (documented in packages/cli/README.md). */
export const EXIT = Object.freeze({
  ok: 0,
  error: 1,
  usage: 2,
  noMatchingKey: 3,
  integrity: 4,
  signature: 5,
  policy: 6,
  keyAccess: 7,
});

const INTEGRITY = new Set(['ERR_AUTHENTICATION_FAILED', 'ERR_TRUNCATED', 'ERR_MALFORMED_HEADER', 'ERR_UNSUPPORTED_VERSION', 'ERR_LIMIT_EXCEEDED']);
const POLICY = new Set(['ERR_EXPIRED', 'ERR_ROLLBACK']);

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (!(error instanceof OvsealError)) return EXIT.error;
  if (error.code === 'ERR_NO_MATCHING_KEY') return EXIT.noMatchingKey;
  if (INTEGRITY.has(error.code)) return EXIT.integrity;
  if (error.code.startsWith('ERR_SIGNATURE_')) return EXIT.signature;
  if (POLICY.has(error.code)) return EXIT.policy;
  if (/^ERR_(KEY|KMS|TPM|PKCS11)_/.test(error.code)) return EXIT.keyAccess;
  if (error.code === 'ERR_INVALID_ARGUMENT') return EXIT.usage;
  return EXIT.error;
}

/** Bad command-line use. */
export class UsageError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint ?? 'run `ovseal --help` for usage';
  }
}

export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export function say(io: Io, line: string): void {
  io.stderr.write(`ovseal: ${line}\n`);
}

export function warn(io: Io, line: string): void {
  io.stderr.write(`ovseal: warning: ${line}\n`);
}

/** Prints an error as age does (`ovseal: error: …`, `ovseal: hint: …`), or as JSON with --json. */
export function reportError(io: Io, error: unknown, json: boolean): number {
  const code = exitCodeFor(error);
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof OvsealError || error instanceof UsageError ? error.hint : undefined;
  const errorCode = error instanceof OvsealError ? error.code : error instanceof UsageError ? 'ERR_USAGE' : 'ERR_INTERNAL';
  if (json) {
    io.stdout.write(JSON.stringify({ ok: false, error: { code: errorCode, message, ...(hint ? { hint } : {}) }, exitCode: code }) + '\n');
  } else {
    io.stderr.write(`ovseal: error: ${message}\n`);
    if (hint) io.stderr.write(`ovseal: hint: ${hint}\n`);
    if (!(error instanceof OvsealError) && !(error instanceof UsageError) && error instanceof Error && io.env.OVSEAL_DEBUG) {
      io.stderr.write(`${error.stack}\n`);
    }
  }
  return code;
}

export function printJson(io: Io, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
