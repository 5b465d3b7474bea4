/** Structured logs, one JSON object a line. Secrets never reach them (see {@link redact}). */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

const SECRET_FIELD = /(token|secret|authorization|password|proof|sig|signature|key|stanza|body)$/i;
/** Field names that end like a secret but hold public values. */
const PUBLIC_FIELDS = new Set(['keyId', 'keyType', 'publicKeyPem', 'signatureKeyId']);

/** Drops the values of fields whose names say they may hold a secret: a second line of defence. */
export function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    out[name] = SECRET_FIELD.test(name) && !PUBLIC_FIELDS.has(name) ? '[redacted]' : value;
  }
  return out;
}

/** `requests: false` drops the per-request lines (before they are formatted). */
export function createLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
  options: { requests?: boolean } = {},
): Logger {
  const requests = options.requests ?? true;
  const log =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}) => {
      if (!requests && event === 'request') return;
      write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...redact(fields) })}\n`);
    };
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
