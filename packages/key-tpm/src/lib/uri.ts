import { InvalidArgumentError } from '@ovseal/container';

/**
 * `scheme:head?key=value&key=value`. Values may be percent-encoded (a path with `&` or `?`); TCTI
 * strings such as `swtpm:host=127.0.0.1,port=2321` go in as they are (only the first `=` splits).
 */
export interface ParsedUri {
  readonly scheme: string;
  readonly head: string;
  readonly params: ReadonlyMap<string, string>;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function parseUri(uri: string, allowed: readonly string[]): ParsedUri {
  const colon = uri.indexOf(':');
  const scheme = colon < 0 ? '' : uri.slice(0, colon);
  if (!allowed.includes(scheme)) {
    throw new InvalidArgumentError(`not a TPM URI: ${JSON.stringify(uri.slice(0, 60))}`, {
      hint: `it starts with ${allowed.map((s) => `${s}:`).join(', ')}`,
    });
  }
  const rest = uri.slice(colon + 1);
  const question = rest.indexOf('?');
  const head = decode(question < 0 ? rest : rest.slice(0, question));
  const params = new Map<string, string>();
  if (question >= 0) {
    for (const pair of rest
      .slice(question + 1)
      .split('&')
      .filter(Boolean)) {
      const equals = pair.indexOf('=');
      if (equals <= 0) throw new InvalidArgumentError(`bad parameter ${JSON.stringify(pair)} in ${scheme}: URI`);
      params.set(pair.slice(0, equals), decode(pair.slice(equals + 1)));
    }
  }
  return { scheme, head, params };
}

export function rejectUnknownParams(uri: ParsedUri, known: readonly string[]): void {
  for (const key of uri.params.keys()) {
    if (!known.includes(key))
      throw new InvalidArgumentError(`unknown parameter ${JSON.stringify(key)} in ${uri.scheme}: URI`, {
        hint: `known: ${known.join(', ')}`,
      });
  }
}

export function timeoutParam(uri: ParsedUri): { timeoutMs?: number } {
  const text = uri.params.get('timeout');
  if (text === undefined) return {};
  const timeoutMs = Number(text);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new InvalidArgumentError(`bad timeout ${JSON.stringify(text)} (milliseconds)`);
  return { timeoutMs };
}
