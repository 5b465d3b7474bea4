import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type ContainerSource } from '@ovseal/container';
import type { HttpOptions, ModelSource } from '../types.js';
import { fetchStream } from './http-source.js';

/** A source turned into what the container reads, and its size when known up front. */
export interface ResolvedSource {
  readonly source: ContainerSource;
  /** Total bytes, when known before reading (bytes in memory, an HTTP Content-Length). */
  readonly size: number | undefined;
}

const HTTP_URL = /^https?:\/\//i;

/**
 * Turns a loader source into a container source without reading it: a URL becomes a streamed HTTP
 * body, a Node or web stream becomes an async iterable of byte chunks.
 */
export async function resolveSource(source: ModelSource, http?: HttpOptions): Promise<ResolvedSource> {
  if (source instanceof Uint8Array) return { source, size: source.byteLength };
  if (typeof source === 'string') return resolveString(source, http);
  if (source instanceof URL) return resolveUrl(source, http);
  if (isAsyncIterable(source)) return { source: onlyBytes(source), size: undefined };
  throw new InvalidArgumentError('a model source must be a path, an http(s) URL, a Uint8Array, or a readable stream of bytes');
}

function resolveString(source: string, http?: HttpOptions): Promise<ResolvedSource> | ResolvedSource {
  if (HTTP_URL.test(source) || source.startsWith('file:')) return resolveUrl(new URL(source), http);
  if (source.length === 0) throw new InvalidArgumentError('the model path is empty');
  return { source, size: undefined };
}

async function resolveUrl(url: URL, http?: HttpOptions): Promise<ResolvedSource> {
  if (url.protocol === 'file:') return { source: fileURLToPath(url), size: undefined };
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const { body, size } = await fetchStream(url, http);
    return { source: onlyBytes(body), size };
  }
  throw new InvalidArgumentError(`unsupported URL scheme ${url.protocol} (use a path, file:, http: or https:)`);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** Passes byte chunks through and refuses text: a stream with an encoding set would corrupt the payload. */
async function* onlyBytes(chunks: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidArgumentError('a model stream must yield bytes (Uint8Array or Buffer), not text or objects');
    }
    yield chunk;
  }
}
