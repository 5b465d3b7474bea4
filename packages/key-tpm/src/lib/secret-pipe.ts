import { execFile } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TpmError } from '../tpm-error.js';

/**
 * A named pipe for tools that insist on writing a secret to a file path (tpm2_ecdhzgen's Z point).
 * Node gives children socket pairs, not pipes, so `-o /dev/stdout` fails (ENXIO); a FIFO keeps the
 * secret in a kernel pipe buffer instead of a file on disk. One FIFO per TPM and process: operations
 * on one TPM run one at a time, so they never share it concurrently.
 */
const fifos = new Map<string, string>();
let cleanupRegistered = false;
const dirs: string[] = [];

async function fifoFor(tpmKey: string): Promise<string> {
  const existing = fifos.get(tpmKey);
  if (existing) return existing;
  const dir = mkdtempSync(join(tmpdir(), 'ovseal-tpm-pipe-'));
  dirs.push(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  }
  const path = join(dir, 'secret.fifo');
  try {
    await promisify(execFile)('mkfifo', ['-m', '600', path]);
  } catch (cause) {
    throw new TpmError('ERR_TPM_TOOLS_MISSING', `cannot create a named pipe with mkfifo: ${(cause as Error).message}`, { cause, hint: 'install coreutils' });
  }
  fifos.set(tpmKey, path);
  return path;
}

function drain(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(4096);
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw error;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(chunk.subarray(0, n)));
  }
  chunk.fill(0);
  const out = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return out;
}

/**
 * Runs `fn(path)` while holding the FIFO open (read-write and non-blocking: neither side's open
 * blocks), then returns what the tool wrote to `path`.
 */
export async function withSecretPipe(tpmKey: string, fn: (path: string) => Promise<unknown>): Promise<Buffer> {
  const path = await fifoFor(tpmKey);
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  try {
    await fn(path);
    return drain(fd);
  } finally {
    closeSync(fd);
  }
}
