import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { HttpError } from './http.js';

/** Parses one `bytes=` range (several ranges are not needed to resume a download: 416 for them). */
function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'unsatisfiable';
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) return 'unsatisfiable';
  return { start, end };
}

/**
 * Serves an immutable file with a strong ETag: `If-None-Match` (304), `Range` (206, one range),
 * `If-Range` (a changed file sends the whole body instead of a wrong piece), `HEAD`.
 */
export async function serveFile(req: IncomingMessage, res: ServerResponse, path: string, etag: string): Promise<void> {
  const { size } = await stat(path).catch(() => {
    throw new HttpError(404, 'not_found', 'the container file is missing on the broker');
  });
  const headers: Record<string, string | number> = {
    etag,
    'accept-ranges': 'bytes',
    'content-type': 'application/octet-stream',
    'cache-control': 'private, max-age=0, must-revalidate',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const rangeHeader = req.headers.range;
  const ifRange = req.headers['if-range'];
  let range: { start: number; end: number } | undefined;
  if (rangeHeader && (ifRange === undefined || ifRange === etag)) {
    const parsed = parseRange(rangeHeader, size);
    if (parsed === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` });
      res.end();
      return;
    }
    range = parsed;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const status = range ? 206 : 200;
  res.writeHead(status, {
    ...headers,
    'content-length': size === 0 ? 0 : end - start + 1,
    ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  await pipeline(createReadStream(path, { start, end }), res);
}
