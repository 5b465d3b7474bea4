import { execFile } from 'node:child_process';
import { constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TpmError } from '../tpm-error.js';

/**
 * A pipe for tools that insist on writing a secret to a file path (tpm2_ecdhzgen's Z point). Node
 * gives children socket pairs, not pipes, so `-o /dev/stdout` fails (ENXIO). A FIFO keeps the
 * secret in a kernel buffer: it is created once per process and TPM, opened (read-write and
 * non-blocking, so no open ever blocks), and unlinked at once — nothing stays on disk, even if the
 * process is killed. The tool gets the open FIFO as its fd 3 and writes to `/dev/fd/3`.
 * Operations on one TPM run one at a time, so they never share the FIFO concurrently.
 */
const fifos = new Map<string, number>();
export const SECRET_PIPE_PATH = '/dev/fd/3';

async function fifoFor(tpmKey: string): Promise<number> {
  const existing = fifos.get(tpmKey);
  if (existing !== undefined) return existing;
  const dir = mkdtempSync(join(tmpdir(), 'ovseal-tpm-pipe-'));
  try {
    const path = join(dir, 'secret.fifo');
    try {
      await promisify(execFile)('mkfifo', ['-m', '600', path]);
    } catch (cause) {
      throw new TpmError('ERR_TPM_TOOLS_MISSING', `cannot create a named pipe with mkfifo: ${(cause as Error).message}`, {
        cause,
        hint: 'install coreutils',
      });
    }
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    fifos.set(tpmKey, fd);
    return fd;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads whatever is buffered in the FIFO (it never blocks: EAGAIN means empty). */
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

/** Runs `fn(fd)` — which passes `fd` to a tool as its fd 3 — and returns what the tool wrote there. */
export async function withSecretPipe(tpmKey: string, fn: (fd: number) => Promise<unknown>): Promise<Buffer> {
  const fd = await fifoFor(tpmKey);
  drain(fd).fill(0); // leftovers of a tool that failed half-way
  await fn(fd);
  return drain(fd);
}
