import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

interface Summary {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  keys: { arn: string; aliases: string[] }[];
}

/** Starts the built `kms-local` command and reads its JSON summary line. */
async function startBin(args: string[]): Promise<{ child: ChildProcess; summary: Summary }> {
  const child = spawn(process.execPath, [BIN, '--port', '0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const summary = await new Promise<Summary>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as Summary));
    child.once('exit', (code) => reject(new Error(`kms-local exited with ${code}: ${stderr}`)));
  });
  return { child, summary };
}

function stopBin(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('the kms-local command', () => {
  let dir: string;
  beforeAll(async () => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`pnpm --filter @ovseal/kms-local build\` first`);
    dir = await mkdtemp(join(tmpdir(), 'kms-local-bin-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves KMS from a state file, creates keys idempotently, and stops cleanly on SIGTERM', async () => {
    const state = join(dir, 'state.json');
    const first = await startBin(['--state', state, '--create-key', 'alias/bin-test', '--principal', 'AKIDBIN:bin-secret']);
    const [key] = first.summary.keys;
    expect(key?.aliases).toEqual(['alias/bin-test']);
    const credentials = { accessKeyId: 'AKIDBIN', secretAccessKey: 'bin-secret' };
    expect(first.summary).toMatchObject({ accessKeyId: credentials.accessKeyId });
    const client = new KMSClient({ endpoint: first.summary.endpoint, region: first.summary.region, credentials, maxAttempts: 1 });
    const { CiphertextBlob } = await client.send(new EncryptCommand({ KeyId: 'alias/bin-test', Plaintext: new Uint8Array([4, 2]) }));
    client.destroy();
    expect(await stopBin(first.child)).toBe(0);

    const second = await startBin(['--state', state, '--create-key', 'alias/bin-test', '--principal', 'AKIDBIN:bin-secret']);
    try {
      expect(second.summary.keys[0]?.arn).toBe(key?.arn);
      const again = new KMSClient({ endpoint: second.summary.endpoint, region: second.summary.region, credentials, maxAttempts: 1 });
      const { Plaintext } = await again.send(new DecryptCommand({ CiphertextBlob }));
      again.destroy();
      expect([...Plaintext!]).toEqual([4, 2]);
    } finally {
      expect(await stopBin(second.child)).toBe(0);
    }
  });
});
