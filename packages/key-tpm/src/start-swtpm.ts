import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TpmError } from './tpm-error.js';
import { shutdownTpm, tpmAnswers } from './lib/raw-tpm.js';
import { manufactureSwtpm } from './lib/swtpm-manufacture.js';
import { SWTPM_INSTALL_LINE } from './check-swtpm-prerequisites.js';

/** Options of {@link startSwtpm}. */
export interface SwtpmOptions {
  /** TPM state directory (kept). Default: a new temp dir, removed by `close()`. */
  readonly stateDir?: string;
  /** How long to wait for the TPM to answer after starting (default 15 000 ms). */
  readonly startTimeoutMs?: number;
  /**
   * Manufacture the TPM like a vendor before its first start (swtpm_setup): endorsement keys with
   * certificates in NV (RSA 2048 at 0x81010001 / NV 0x01c00002, ECC P-384 at 0x81010016 / NV
   * 0x01c00016), signed by a local CA kept in `caDir` (created on first use, shared by every TPM
   * manufactured with the same directory). Its certificates are `endorsementCaPem`.
   */
  readonly endorsement?: { readonly caDir: string };
}

/** A running swtpm (TPM 2.0 on libtpms) reachable over TCP on 127.0.0.1. */
export interface SwtpmInstance {
  /** The tpm2-tools TCTI, e.g. `swtpm:host=127.0.0.1,port=40123` (may change after `restart()` if the port was taken). */
  readonly tcti: string;
  readonly port: number;
  readonly ctrlPort: number;
  readonly stateDir: string;
  /** Orderly TPM shutdown, then stops the process (and removes a temp state dir). */
  close(): Promise<void>;
  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void>;
  /** Stops and starts again on the same state: a TPM reset (PCRs and transient objects gone, persistent ones kept). */
  restart(): Promise<void>;
  /** With `endorsement`: the local manufacturer CA (issuing CA and root certificates, PEM). */
  readonly endorsementCaPem?: string;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => running.forEach((child) => child.kill('SIGKILL')));
}

function listenOn(port: number): Promise<import('node:net').Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

/** Two consecutive free ports (the swtpm TCTI expects the control port right after the data port). */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listenOn(0);
    if (!first) continue;
    const port = (first.address() as import('node:net').AddressInfo).port;
    const second = port < 65535 ? await listenOn(port + 1) : null;
    await new Promise((resolve) => first.close(resolve));
    if (second) {
      await new Promise((resolve) => second.close(resolve));
      return port;
    }
  }
  throw new TpmError('ERR_TPM_UNREACHABLE', 'found no two consecutive free TCP ports for swtpm');
}

class Swtpm implements SwtpmInstance {
  port = 0;
  endorsementCaPem?: string;
  readonly stateDir: string;
  readonly #ownsStateDir: boolean;
  readonly #startTimeoutMs: number;
  #child: ChildProcess | undefined;

  constructor(stateDir: string, ownsStateDir: boolean, startTimeoutMs: number) {
    this.stateDir = stateDir;
    this.#ownsStateDir = ownsStateDir;
    this.#startTimeoutMs = startTimeoutMs;
  }

  get ctrlPort(): number {
    return this.port + 1;
  }

  get tcti(): string {
    return `swtpm:host=127.0.0.1,port=${this.port}`;
  }

  /** Starts swtpm, on `preferredPort` if still free, else on new ports; waits until the TPM answers. */
  async launch(preferredPort?: number): Promise<void> {
    let lastError = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = attempt === 0 && preferredPort ? preferredPort : await freePortPair();
      const outcome = await this.#tryStart(port);
      if (outcome === 'ready') return;
      lastError = outcome;
      if (!/address already in use|bind/i.test(outcome)) break;
    }
    throw new TpmError('ERR_TPM_UNREACHABLE', `swtpm did not start: ${lastError}`);
  }

  async #tryStart(port: number): Promise<'ready' | string> {
    const args = [
      'socket',
      '--tpm2',
      '--server',
      `type=tcp,port=${port},bindaddr=127.0.0.1`,
      '--ctrl',
      `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
      '--tpmstate',
      `dir=${this.stateDir}`,
      '--flags',
      'not-need-init,startup-clear',
    ];
    const child = spawn('swtpm', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let exited: string | undefined;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const spawned = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      child.once('spawn', () => resolve(null));
      child.once('error', resolve);
    });
    if (spawned) {
      if (spawned.code === 'ENOENT')
        throw new TpmError('ERR_TPM_TOOLS_MISSING', 'swtpm was not found on the PATH', { hint: `install it: ${SWTPM_INSTALL_LINE}` });
      throw new TpmError('ERR_TPM_COMMAND', `cannot run swtpm: ${spawned.message}`, { cause: spawned });
    }
    child.once('exit', (code, signal) => (exited = `swtpm exited (${signal ?? code}): ${stderr.trim() || 'no output'}`));
    running.add(child);
    killAllOnExit();
    const deadline = Date.now() + this.#startTimeoutMs;
    while (Date.now() < deadline) {
      if (exited) {
        running.delete(child);
        return exited;
      }
      if (await tpmAnswers(port)) {
        this.#child = child;
        this.port = port;
        return 'ready';
      }
      await sleep(25);
    }
    child.kill('SIGKILL');
    running.delete(child);
    return `swtpm did not answer within ${this.#startTimeoutMs} ms`;
  }

  async #halt(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    await shutdownTpm(this.port);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
  }

  async close(): Promise<void> {
    await this.#halt();
    if (this.#ownsStateDir) await rm(this.stateDir, { recursive: true, force: true });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async restart(): Promise<void> {
    const port = this.port;
    await this.#halt();
    await this.launch(port);
  }
}

/**
 * Starts a software TPM 2.0 (`swtpm socket`) on two free local ports with its own state directory,
 * and waits until it answers. For tests, demos and CI: every other package's TPM test uses it.
 *
 * @example
 * ```ts
 * const tpm = await startSwtpm();
 * try {
 *   const key = await initDeviceKey({ tcti: tpm.tcti });
 * } finally {
 *   await tpm.close();
 * }
 * ```
 */
export async function startSwtpm(options: SwtpmOptions = {}): Promise<SwtpmInstance> {
  const owns = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'ovseal-swtpm-')));
  const tpm = new Swtpm(stateDir, owns, options.startTimeoutMs ?? 15_000);
  try {
    if (options.endorsement) tpm.endorsementCaPem = await manufactureSwtpm(stateDir, options.endorsement.caDir);
    await tpm.launch();
  } catch (error) {
    if (owns) await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
  return tpm;
}
