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

const INTEGRITY = new Set([
  'ERR_AUTHENTICATION_FAILED',
  'ERR_TRUNCATED',
  'ERR_MALFORMED_HEADER',
  'ERR_UNSUPPORTED_VERSION',
  'ERR_LIMIT_EXCEEDED',
]);
const POLICY = new Set(['ERR_EXPIRED', 'ERR_ROLLBACK']);

/**
 * An ovseal error, recognised by its shape (an Error with an `ERR_…` code) rather than by
 * `instanceof`: a plugin package may bring its own copy of @ovseal/container, whose classes are
 * not the CLI's, and its errors must still map to the right exit code.
 */
export function ovsealErrorOf(error: unknown): (Error & { code: string; hint?: string }) | undefined {
  if (error instanceof OvsealError) return error;
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('ERR_') ? (error as Error & { code: string; hint?: string }) : undefined;
}

export function exitCodeFor(caught: unknown): number {
  if (caught instanceof UsageError) return EXIT.usage;
  const error = ovsealErrorOf(caught);
  if (!error) return EXIT.error;
  if (error.code === 'ERR_NO_MATCHING_KEY') return EXIT.noMatchingKey;
  if (INTEGRITY.has(error.code)) return EXIT.integrity;
  if (error.code.startsWith('ERR_SIGNATURE_')) return EXIT.signature;
  if (POLICY.has(error.code)) return EXIT.policy;
  if (/^ERR_(KEY|KMS|TPM|PKCS11|PLUGIN)_/.test(error.code)) return EXIT.keyAccess;
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

// C0 and C1 controls (ESC, CSI, CR, BEL, …) and Unicode's bidirectional formatting characters.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Text safe to print on a terminal: every control or bidi formatting character becomes a visible
 * `\u001b` escape (a file name, a model name, a key argument could otherwise move the cursor,
 * rewrite earlier lines or reorder what is shown).
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

export function say(io: Io, line: string): void {
  io.stderr.write(`ovseal: ${terminalSafe(line)}\n`);
}

export function warn(io: Io, line: string): void {
  io.stderr.write(`ovseal: warning: ${terminalSafe(line)}\n`);
}

/** Prints an error as age does (`ovseal: error: …`, `ovseal: hint: …`), or as JSON with --json. */
export function reportError(io: Io, error: unknown, json: boolean): number {
  const code = exitCodeFor(error);
  const message = error instanceof Error ? error.message : String(error);
  const ovsealError = ovsealErrorOf(error);
  const hint = error instanceof UsageError ? error.hint : typeof ovsealError?.hint === 'string' ? ovsealError.hint : undefined;
  const errorCode = ovsealError ? ovsealError.code : error instanceof UsageError ? 'ERR_USAGE' : 'ERR_INTERNAL';
  if (json) {
    io.stdout.write(jsonText({ ok: false, error: { code: errorCode, message, ...(hint ? { hint } : {}) }, exitCode: code }) + '\n');
  } else {
    io.stderr.write(`ovseal: error: ${terminalSafe(message)}\n`);
    if (hint) io.stderr.write(`ovseal: hint: ${terminalSafe(hint)}\n`);
    if (!ovsealError && !(error instanceof UsageError) && error instanceof Error && io.env.OVSEAL_DEBUG) {
      io.stderr.write(`${error.stack}\n`);
    }
  }
  return code;
}

/** What JSON.stringify leaves raw in strings (it escapes C0 itself; its own line breaks stay). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** JSON with every control and bidi character escaped. */
function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, escapeChar);
}

export function printJson(io: Io, value: unknown): void {
  io.stdout.write(jsonText(value, 2) + '\n');
}
