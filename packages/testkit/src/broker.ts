/**
 * `@ovseal/testkit/broker`: a key broker for integration tests (needs `@ovseal/key-broker`, an
 * optional peer dependency: install it next to the testkit).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Recipient } from '@ovseal/container';
import type { KeyBroker, KeyBrokerOptions } from '@ovseal/key-broker';
import { kmsIdentityFromUri, kmsRecipientFromUri } from '@ovseal/key-kms';
import { startKmsLocal, type TestKms } from './start-kms-local.js';

/** Options of {@link startBroker}: the broker's own, every one optional here. */
export type TestBrokerOptions = Partial<KeyBrokerOptions>;

/** An answer of the broker's admin API, parsed. */
export interface AdminAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** A running broker on 127.0.0.1, its admin token, and the KMS key models are sealed to. */
export interface TestBroker {
  readonly broker: KeyBroker;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly adminToken: string;
  readonly dataDir: string;
  /** The kms-local the broker unwraps with, unless you passed `identities`. */
  readonly kms: TestKms | undefined;
  /** Seal models to this (the broker's KMS key), unless you passed `identities`. */
  readonly recipient: Recipient | undefined;
  /** Calls the admin API with the token: `await admin('POST', '/v1/admin/devices', { … })`. */
  admin(method: string, path: string, body?: unknown): Promise<AdminAnswer>;
  /** Stops the broker and kms-local, and removes the temporary data directory. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts the fleet key broker in this process, on a free local port with a temporary data
 * directory and a random admin token. Unless you pass `identities`, it also starts kms-local with
 * one key, which the broker unwraps with; seal your test models to `recipient`.
 *
 * @example
 * ```ts
 * const broker = await startBroker();
 * await seal({ output: 'm.ovseal', entries, metadata, recipients: [broker.recipient!] });
 * const answer = await broker.admin('GET', '/v1/admin/devices');
 * await broker.close();
 * ```
 */
export async function startBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const { startKeyBroker } = await import('@ovseal/key-broker');
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ovseal-test-broker-')));
  const adminToken = options.adminToken ?? randomBytes(24).toString('base64url');
  let kms: TestKms | undefined;
  let broker: KeyBroker | undefined;
  const close = async () => {
    await broker?.close();
    await kms?.close();
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    let identities = options.identities;
    if (!identities) {
      kms = await startKmsLocal();
      identities = [kmsIdentityFromUri(kms.uri, kms.clientOptions)];
    }
    broker = await startKeyBroker({ host: '127.0.0.1', port: 0, logger: false, ...options, dataDir, adminToken, identities });
    const url = broker.url;
    return {
      broker,
      url,
      adminToken,
      dataDir,
      kms,
      recipient: kms ? kmsRecipientFromUri(kms.uri, kms.clientOptions) : undefined,
      admin: async (method, path, body) => {
        const isBytes = body instanceof Uint8Array;
        const response = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': isBytes ? 'application/octet-stream' : 'application/json' },
          ...(body === undefined ? {} : { body: isBytes ? body : JSON.stringify(body) }),
        });
        const text = await response.text();
        return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
