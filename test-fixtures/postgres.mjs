// A real PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries (initdb,
// postgres, pg_isready, psql), a fresh cluster in a temporary directory, run as an unprivileged
// user (the `postgres` account, or `nobody`, when the tests run as root), on a free port of
// 127.0.0.1, password authentication. Never a mock. Every server started here is killed when the
// process exits.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TOOLS = ['initdb', 'postgres', 'pg_isready', 'psql'];
const servers = new Set();
process.once('exit', () => servers.forEach((child) => child.kill('SIGKILL')));

/**
 * Where the server binaries are: `OVSEAL_PG_BIN`, Debian's /usr/lib/postgresql/<version>/bin
 * (newest first), then PATH.
 * @returns {{ ok: true, binDir: string } | { ok: false, message: string }}
 */
export function findPostgres() {
  const candidates = [];
  if (process.env.OVSEAL_PG_BIN) candidates.push(process.env.OVSEAL_PG_BIN);
  try {
    for (const version of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)))
      candidates.push(`/usr/lib/postgresql/${version}/bin`);
  } catch {
    // not Debian's layout
  }
  candidates.push(...(process.env.PATH ?? '').split(':').filter(Boolean));
  const binDir = candidates.find((dir) => TOOLS.every((tool) => existsSync(join(dir, tool))));
  if (binDir) return { ok: true, binDir };
  return {
    ok: false,
    message: `PostgreSQL server binaries (${TOOLS.join(', ')}) not found: apt-get install postgresql (or set OVSEAL_PG_BIN to their directory)`,
  };
}

/** The account the server runs as: ours, or an unprivileged one when we are root (initdb refuses root). */
function serverAccount() {
  if (process.getuid?.() !== 0) return {};
  const passwd = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'));
  const entry = passwd.find((fields) => fields[0] === 'postgres') ?? passwd.find((fields) => fields[0] === 'nobody');
  if (!entry) throw new Error('running as root and no unprivileged account (postgres, nobody) to run PostgreSQL as');
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function run(binary, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${binary} ${args.join(' ')} exited ${code}: ${output.slice(-2000)}`)),
    );
  });
}

/**
 * Starts a new PostgreSQL cluster. `fsync: false` (the default here) trades power-loss safety for
 * speed: a killed server still loses nothing committed (the OS has the pages).
 * @param {{ fsync?: boolean, maxConnections?: number, settings?: Record<string, string> }} [options]
 */
export async function startPostgres(options = {}) {
  const found = findPostgres();
  if (!found.ok) throw new Error(found.message);
  const account = serverAccount();
  const root = mkdtempSync(join(tmpdir(), 'ovseal-pg-'));
  const dataDir = join(root, 'data');
  const user = 'ovseal';
  const password = randomBytes(18).toString('base64url');
  writeFileSync(join(root, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (account.uid !== undefined) {
    chownSync(root, account.uid, account.gid);
    chownSync(join(root, 'pwfile'), account.uid, account.gid);
  }
  const env = { ...process.env, LC_ALL: 'C', PGTZ: 'UTC' };
  await run(
    join(found.binDir, 'initdb'),
    ['-D', dataDir, '-U', user, '--pwfile', join(root, 'pwfile'), '-A', 'scram-sha-256', '-E', 'UTF8', '--no-sync'],
    { ...account, env, cwd: root },
  );
  rmSync(join(root, 'pwfile'), { force: true });
  const port = await freePort();
  const host = '127.0.0.1';
  const settings = {
    listen_addresses: host,
    port: String(port),
    unix_socket_directories: root,
    fsync: options.fsync === true ? 'on' : 'off',
    max_connections: String(options.maxConnections ?? 200),
    log_min_messages: 'warning',
    ...options.settings,
  };
  let child;
  let log = '';
  const url = (database = 'postgres') => `postgresql://${user}:${password}@${host}:${port}/${database}`;

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    child = spawn(
      join(found.binDir, 'postgres'),
      ['-D', dataDir, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])],
      { ...account, env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    servers.add(child);
    child.stdout.on('data', (chunk) => (log += chunk));
    child.stderr.on('data', (chunk) => (log = (log + chunk).slice(-20_000)));
    const current = child;
    current.once('exit', () => servers.delete(current));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (current.exitCode !== null) throw new Error(`postgres exited (${current.exitCode}): ${log.slice(-2000)}`);
      try {
        await run(join(found.binDir, 'pg_isready'), ['-q', '-h', host, '-p', String(port), '-U', user], { env });
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`postgres did not get ready: ${log.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };

  /** Fast shutdown (SIGINT: open sessions are ended, nothing committed is lost); SIGKILL: a crash. */
  const halt = async (signal) => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill(signal);
    const timer = setTimeout(() => current.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };

  const psql = (sql, database = 'postgres') =>
    run(join(found.binDir, 'psql'), ['-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql, url(database)], { env });

  await start();
  return {
    host,
    port,
    user,
    password,
    dataDir,
    /** A connection URL (password included) for `database` (default `postgres`). */
    url,
    start,
    close: () => halt('SIGINT'),
    kill: () => halt('SIGKILL'),
    /** Runs SQL with psql; resolves with its unaligned output. */
    psql,
    /** Creates a fresh database; resolves with its URL. */
    async createDatabase(name = `t_${randomBytes(6).toString('hex')}`) {
      await psql(`CREATE DATABASE ${name}`);
      return url(name);
    },
    /** The server's recent log (warnings and errors). */
    log: () => log,
    /** Stops the server and removes its directory. */
    async remove() {
      await halt('SIGINT');
      rmSync(root, { recursive: true, force: true });
    },
  };
}
