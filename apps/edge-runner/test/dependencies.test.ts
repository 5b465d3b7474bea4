// The device installs the protocol, not the broker: the edge runner's production dependency tree
// holds @ovseal/broker-protocol and none of the broker's (the broker app, SQLite, PostgreSQL, the
// AWS SDK). Checked with pnpm itself, with the broker's own tree as the control.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const edgeRunnerDir = fileURLToPath(new URL('..', import.meta.url));
const brokerDir = fileURLToPath(new URL('../../key-broker', import.meta.url));

/** pnpm as the test was started with (`pnpm test` sets npm_execpath), else from PATH. */
async function pnpm(cwd: string, args: string[]): Promise<unknown> {
  const execPath = process.env['npm_execpath'];
  const [command, prefix] =
    execPath && /\.c?js$/.test(execPath) ? [process.execPath, [execPath]] : [execPath && /pnpm/.test(execPath) ? execPath : 'pnpm', []];
  const { stdout } = await run(command, [...prefix, ...args, '--json'], { cwd, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout || '[]');
}

async function why(cwd: string, name: string): Promise<unknown[]> {
  return (await pnpm(cwd, ['why', '--prod', name])) as unknown[];
}

/** Every package name in the production tree, workspace packages included. */
async function productionTree(cwd: string): Promise<Set<string>> {
  const [root] = (await pnpm(cwd, ['list', '--prod', '--depth', 'Infinity'])) as {
    dependencies?: Record<string, { dependencies?: unknown }>;
  }[];
  const names = new Set<string>();
  const walk = (deps: Record<string, { dependencies?: unknown }> | undefined) => {
    for (const [name, info] of Object.entries(deps ?? {})) {
      if (names.has(name)) continue;
      names.add(name);
      walk(info.dependencies as Record<string, { dependencies?: unknown }> | undefined);
    }
  };
  walk(root?.dependencies);
  return names;
}

describe('edge runner dependencies (pnpm why / pnpm list)', () => {
  it('the edge runner depends on @ovseal/broker-protocol and not on the broker app', async () => {
    const tree = await productionTree(edgeRunnerDir);
    expect(tree.has('@ovseal/broker-protocol')).toBe(true);
    expect(tree.has('@ovseal/container')).toBe(true);
    expect(tree.has('@ovseal/key-broker')).toBe(false);
    expect([...tree].filter((name) => name.startsWith('@aws-sdk/'))).toEqual([]);
  });

  it.each(['better-sqlite3', 'pg', '@aws-sdk/client-kms'])('pnpm why %s: the broker needs it, the edge runner does not', async (name) => {
    expect((await why(brokerDir, name)).length).toBeGreaterThan(0);
    expect(await why(edgeRunnerDir, name)).toEqual([]);
  });
});
