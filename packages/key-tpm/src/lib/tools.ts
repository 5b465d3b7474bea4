import { spawn } from 'node:child_process';
import { TpmError } from '../tpm-error.js';
import type { TpmOptions } from '../types.js';
import { errorFromToolFailure } from './response-code.js';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const TOOLS_INSTALL_HINT = 'install tpm2-tools: sudo apt-get install tpm2-tools (Debian/Ubuntu), or dnf install tpm2-tools';

export interface RunOptions {
  /** Bytes written to the tool's stdin (secrets go this way, never through a file). */
  readonly stdin?: Uint8Array;
  /** Working directory: the operation's private temp dir, so relative names never hit user files. */
  readonly cwd?: string;
  /** An open file descriptor handed to the tool as its fd 3 (see secret-pipe). */
  readonly fd3?: number;
}

/**
 * What tpm2-tools may see of this process's environment: the tool search path, the TSS and
 * tpm2-tools settings, D-Bus (the tabrmd resource manager) and the locale. Nothing else: the
 * process may hold secrets in its environment (an `env:` key, cloud credentials).
 */
const TOOL_ENV =
  /^(PATH|LD_LIBRARY_PATH|TMPDIR|HOME|LANG|LC_[A-Z]+|TZ|XDG_RUNTIME_DIR|DBUS_(SESSION|SYSTEM)_BUS_ADDRESS|TPM2TOOLS_[A-Z0-9_]+|TSS2_[A-Z0-9_]+|TCTI_[A-Z0-9_]+)$/;

export function toolEnvironment(tcti: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (TOOL_ENV.test(name)) env[name] = value;
  if (tcti !== undefined) env['TPM2TOOLS_TCTI'] = tcti;
  return env;
}

/** Resource managers flush a client's objects and sessions when it disconnects. */
function hasResourceManager(tcti: string | undefined): boolean {
  if (tcti === undefined) return false;
  return /^(tabrmd|abrmd|libtss2-tcti-tabrmd)/.test(tcti) || /\/dev\/tpmrm\d+/.test(tcti);
}

// Without a resource manager, two operations interleaved on one TPM would flush each other's
// objects: operations on the same TCTI run one at a time in this process.
const queues = new Map<string, Promise<unknown>>();

/**
 * The shim: runs tpm2-tools commands against one TCTI with a timeout, and maps failures to
 * {@link TpmError}s.
 */
export class Tpm2Tools {
  readonly tcti: string | undefined;
  readonly timeoutMs: number;
  readonly #flush: boolean;

  constructor(options: TpmOptions = {}) {
    this.tcti = options.tcti ?? process.env['TPM2TOOLS_TCTI'] ?? undefined;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const flush = options.flush ?? 'auto';
    this.#flush = flush === 'always' || (flush === 'auto' && !hasResourceManager(this.tcti));
  }

  /** A key naming the TPM this shim talks to (for per-TPM caches and the operation queue). */
  get tpmKey(): string {
    return this.tcti ?? '(tpm2-tools default)';
  }

  /** Runs `fn` after every earlier operation on the same TPM has finished. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = queues.get(this.tpmKey) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    queues.set(this.tpmKey, settled);
    void settled.then(() => {
      if (queues.get(this.tpmKey) === settled) queues.delete(this.tpmKey);
    });
    return result;
  }

  /** Runs `tpm2_<name>` and returns its stdout; throws a {@link TpmError} on any failure. */
  run(name: string, args: readonly string[], options: RunOptions = {}): Promise<Buffer> {
    const tool = `tpm2_${name}`;
    const env = toolEnvironment(this.tcti);
    return new Promise<Buffer>((resolve, reject) => {
      const stdio: ('pipe' | number)[] = ['pipe', 'pipe', 'pipe'];
      if (options.fd3 !== undefined) stdio.push(options.fd3);
      const child = spawn(tool, args, { env, cwd: options.cwd, stdio });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.timeoutMs);
      child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.stdin!.on('error', () => undefined); // the tool may exit before reading stdin
      child.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error.code === 'ENOENT') {
          reject(
            new TpmError('ERR_TPM_TOOLS_MISSING', `${tool} was not found on the PATH`, { tool, cause: error, hint: TOOLS_INSTALL_HINT }),
          );
        } else {
          reject(new TpmError('ERR_TPM_COMMAND', `cannot run ${tool}: ${error.message}`, { tool, cause: error }));
        }
      });
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        const out = Buffer.concat(stdout);
        if (timedOut) {
          out.fill(0);
          reject(
            new TpmError('ERR_TPM_TIMEOUT', `${tool} did not finish within ${this.timeoutMs} ms`, {
              tool,
              hint: 'the TPM did not answer: check that it (or swtpm) is running and not busy, or raise timeoutMs',
            }),
          );
        } else if (exitCode !== 0) {
          out.fill(0);
          reject(errorFromToolFailure(tool, exitCode, Buffer.concat(stderr).toString('utf8')));
        } else {
          resolve(out);
        }
      });
      child.stdin!.end(options.stdin ? Buffer.from(options.stdin.buffer, options.stdin.byteOffset, options.stdin.byteLength) : undefined);
    });
  }

  /** Flushes every transient object (best effort: nothing loaded is not an error). */
  async flushTransient(cwd?: string): Promise<void> {
    if (this.#flush) await this.run('flushcontext', ['-t'], cwd === undefined ? {} : { cwd }).catch(() => undefined);
  }

  /** Flushes every loaded session (best effort; the tool fails when there is none). */
  async flushSessions(cwd?: string): Promise<void> {
    if (this.#flush) await this.run('flushcontext', ['-l'], cwd === undefined ? {} : { cwd }).catch(() => undefined);
  }
}
