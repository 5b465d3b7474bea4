import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { renameDurably } from '@ovseal/atomic-file';
import { EdgeRunnerError } from '../errors.js';
import { httpRequest, type BrokerTls, type HttpResponse } from './http-request.js';
import type { Progress } from './progress.js';

export interface DownloadOptions {
  readonly url: string;
  /** Final path; the bytes go to `dest.part` until complete. */
  readonly dest: string;
  readonly size: number;
  /** Strong ETag (`"<sha256 hex>"` from the broker): resumes only the same bytes, and checks them. */
  readonly etag: string | null;
  readonly progress?: (total: number) => Progress;
  readonly timeoutMs?: number;
  /** The broker's CA and pin, for a URL on the broker. */
  readonly tls?: BrokerTls | undefined;
}

/** What happened, for logs and tests. */
export interface DownloadResult {
  readonly resumedFrom: number;
  readonly bytes: number;
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Downloads a sealed container, resumable: a `.part` file and its ETag survive an interrupted
 * download (a crash, a lost link), and the next attempt asks for the rest with `Range` + `If-Range`
 * (the server sends everything again if the file changed). The finished file must have the
 * announced size and, when the ETag is a SHA-256, that digest. The bytes are ciphertext: this is
 * about not downloading twice, the container authenticates itself when opened.
 */
export async function downloadResumable(options: DownloadOptions): Promise<DownloadResult> {
  const part = `${options.dest}.part`;
  const meta = `${part}.json`;
  const previousEtag = await readFile(meta, 'utf8').then(
    (text) => (JSON.parse(text) as { etag: string | null }).etag,
    () => undefined,
  );
  let offset = previousEtag !== undefined && previousEtag === options.etag && options.etag !== null ? await sizeOf(part) : 0;
  if (offset > options.size) offset = 0;
  if (offset === 0) await rm(part, { force: true });
  await writeFile(meta, JSON.stringify({ etag: options.etag, url: options.url.split('?')[0] }));

  const resumedFrom = offset;
  if (offset < options.size) {
    const headers: Record<string, string> =
      offset > 0 ? { range: `bytes=${offset}-`, ...(options.etag ? { 'if-range': options.etag } : {}) } : {};
    let response: HttpResponse;
    try {
      response = await httpRequest(options.url, { headers, timeoutMs: options.timeoutMs ?? 10 * 60_000, tls: options.tls });
    } catch (cause) {
      throw new EdgeRunnerError('ERR_DOWNLOAD', `download failed: ${(cause as Error).message}`, { cause });
    }
    if (response.status === 200)
      offset = 0; // the whole body: start over
    else if (response.status !== 206) {
      response.body.resume();
      throw new EdgeRunnerError('ERR_DOWNLOAD', `download failed: HTTP ${response.status}`, { status: response.status });
    }
    const progress = options.progress?.(options.size);
    let done = offset;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        done += chunk.length;
        if (done > options.size) return callback(new EdgeRunnerError('ERR_DOWNLOAD', 'the server sent more bytes than announced'));
        progress?.update(done);
        callback(null, chunk);
      },
    });
    await pipeline(response.body, meter, createWriteStream(part, { flags: offset === 0 ? 'w' : 'a', mode: 0o600 })).catch(
      (cause: unknown) => {
        throw cause instanceof EdgeRunnerError
          ? cause
          : new EdgeRunnerError('ERR_DOWNLOAD', `download interrupted at ${done} bytes (it will resume): ${(cause as Error).message}`, {
              cause,
            });
      },
    );
    progress?.finish();
  }
  const size = await sizeOf(part);
  if (size !== options.size)
    throw new EdgeRunnerError('ERR_DOWNLOAD', `downloaded ${size} bytes, expected ${options.size} (it will resume)`);
  const digest = /^"([0-9a-f]{64})"$/.exec(options.etag ?? '')?.[1];
  if (digest && (await sha256File(part)) !== digest) {
    await rm(part, { force: true });
    throw new EdgeRunnerError('ERR_DOWNLOAD', 'the downloaded container does not match its digest; it will be downloaded again');
  }
  await renameDurably(part, options.dest);
  await rm(meta, { force: true });
  return { resumedFrom, bytes: options.size - resumedFrom };
}
