import { AbortError, IoError } from '@ovseal/container';
import type { HttpOptions } from '../types.js';

/**
 * Starts an HTTP(S) GET and returns its body as a stream: the container reads it chunk by chunk, so
 * the ciphertext is never held whole. Redirects are followed; any non-2xx status is an `IoError`.
 */
export async function fetchStream(
  url: URL,
  options: HttpOptions = {},
): Promise<{ body: AsyncIterable<Uint8Array>; size: number | undefined }> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: options.headers,
      signal: options.signal,
      redirect: 'follow',
    });
  } catch (error) {
    if (options.signal?.aborted) throw new AbortError(options.signal.reason);
    throw new IoError(`cannot fetch ${redact(url)}: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel().catch(() => undefined);
    throw new IoError(`cannot fetch ${redact(url)}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  return { body: response.body as unknown as AsyncIterable<Uint8Array>, size: contentLength(response) };
}

function contentLength(response: Response): number | undefined {
  // A compressed transfer reports the compressed length; only an identity body has a usable size.
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding !== 'identity') return undefined;
  const header = response.headers.get('content-length');
  if (header === null || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

/** URLs may carry credentials (user:pass@, signed query strings): keep them out of error messages. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
