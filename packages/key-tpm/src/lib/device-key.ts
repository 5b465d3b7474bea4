import type { KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ovseal/container';
import type { DeviceKeyType, TpmOptions } from '../types.js';
import { formatHandle, parseHandle, parseParent, readPublicArea, withParent, type ParentSpec } from './parent.js';
import { formatPcrSelection, parsePcrSelection, type PcrSelection } from './pcr.js';
import { keyIdOf } from './public-key.js';
import { withTempDir } from './temp-dir.js';
import { Tpm2Tools } from './tools.js';
import { isDecryptionKey, parseTpmPublic, TPM_ALG, TPM_ECC_CURVE, usableWithPassword, type TpmPublic } from './tpm-public.js';

/** Files of a device key directory (written by initDeviceKey, read by the identities). */
export const KEY_DIR_FILES = {
  publicArea: 'device.pub',
  privateArea: 'device.priv',
  publicKeyPem: 'public.pem',
  metadata: 'key.json',
} as const;

export interface KeyDirMetadata {
  readonly version: 1;
  readonly type: DeviceKeyType;
  readonly keyId: string;
  readonly parent: string;
  readonly pcrs: string | null;
}

type Location =
  | { readonly kind: 'handle'; readonly handle: number }
  | { readonly kind: 'dir'; readonly dir: string; readonly publicArea: Buffer; readonly privateArea: Buffer; readonly parent: ParentSpec };

/** Where a device key's identity finds it: a persistent handle or a key directory. */
export type DeviceKeySource = { readonly handle: number | string } | { readonly keyDir: string };

export interface DeviceKeyOptions extends TpmOptions {
  /** The key's PCR policy (`sha256:0,7`); needed for a persistent key made with one. */
  readonly pcrs?: string;
}

function typeOf(pub: TpmPublic): DeviceKeyType {
  if (!isDecryptionKey(pub))
    throw new InvalidArgumentError('the TPM object is not a device key (not an unrestricted decryption key; a storage primary, perhaps)');
  if (pub.type === TPM_ALG.ecc && pub.curve === TPM_ECC_CURVE.p256 && pub.key) return 'tpm-ecdh';
  if (pub.type === TPM_ALG.rsa && pub.key) return 'tpm-rsa';
  throw new InvalidArgumentError('the TPM object is neither an ECC P-256 nor an RSA key');
}

/**
 * A TPM-resident device key, as its identity uses it: the public part is known in Node, the
 * private part is only ever used inside the TPM.
 */
export class DeviceKey {
  readonly type: DeviceKeyType;
  readonly publicKey: KeyObject;
  readonly keyId: string;
  readonly pcrs: PcrSelection | undefined;
  readonly tools: Tpm2Tools;
  readonly #location: Location;

  private constructor(tools: Tpm2Tools, location: Location, pub: TpmPublic, pcrs: PcrSelection | undefined) {
    this.tools = tools;
    this.#location = location;
    this.type = typeOf(pub);
    this.publicKey = pub.key!;
    this.keyId = keyIdOf(this.publicKey);
    if (!pcrs && !usableWithPassword(pub)) {
      throw new InvalidArgumentError(`device key ${this.describe()} can only be used through its policy: give its PCR selection`, {
        hint: 'add pcrs=sha256:0,7 (the selection it was created with) to the identity',
      });
    }
    this.pcrs = pcrs;
  }

  static async open(source: DeviceKeySource, options: DeviceKeyOptions = {}): Promise<DeviceKey> {
    const tools = new Tpm2Tools(options);
    if ('handle' in source) {
      const handle = parseHandle(source.handle, 'device key handle');
      const pub = await tools.exclusive(() =>
        withTempDir(async (dir) => parseTpmPublic(await readPublicArea(tools, formatHandle(handle), dir))),
      );
      return new DeviceKey(tools, { kind: 'handle', handle }, pub, options.pcrs ? parsePcrSelection(options.pcrs) : undefined);
    }
    const dir = source.keyDir;
    let metadata: KeyDirMetadata;
    let publicArea: Buffer;
    let privateArea: Buffer;
    try {
      metadata = JSON.parse(await readFile(join(dir, KEY_DIR_FILES.metadata), 'utf8')) as KeyDirMetadata;
      [publicArea, privateArea] = await Promise.all([
        readFile(join(dir, KEY_DIR_FILES.publicArea)),
        readFile(join(dir, KEY_DIR_FILES.privateArea)),
      ]);
    } catch (cause) {
      throw new InvalidArgumentError(`${dir} is not a TPM device key directory: ${(cause as Error).message}`, {
        cause,
        hint: 'create one with initDeviceKey({ keyDir }) (ovseal tpm init --key-dir)',
      });
    }
    const pcrs = options.pcrs ?? metadata.pcrs ?? undefined;
    const location: Location = { kind: 'dir', dir, publicArea, privateArea, parent: parseParent(metadata.parent) };
    return new DeviceKey(tools, location, parseTpmPublic(publicArea), pcrs ? parsePcrSelection(pcrs) : undefined);
  }

  describe(): string {
    return this.#location.kind === 'handle' ? formatHandle(this.#location.handle) : this.#location.dir;
  }

  /** `-p pcr:…` when the key has a PCR policy (tpm2-tools then runs the policy session itself). */
  authArgs(): string[] {
    return this.pcrs ? ['-p', `pcr:${formatPcrSelection(this.pcrs)}`] : [];
  }

  /**
   * Runs `fn` with the key loaded: `keyArg` is its handle, or a context file in `dir` after
   * tpm2_load under its parent. Whatever the operation left in the TPM is flushed afterwards:
   * transient copies of the parent and the key, and — when `leavesSession` — the session a tool
   * opened and did not close.
   */
  use<T>(leavesSession: boolean, fn: (keyArg: string, dir: string) => Promise<T>): Promise<T> {
    const location = this.#location;
    return this.tools.exclusive(() =>
      withTempDir(async (dir) => {
        try {
          if (location.kind === 'handle') return await fn(formatHandle(location.handle), dir);
          await Promise.all([
            writeFile(join(dir, 'device.pub'), location.publicArea),
            writeFile(join(dir, 'device.priv'), location.privateArea),
          ]);
          return await withParent(this.tools, location.parent, dir, async (parent) => {
            await this.tools.run('load', ['-C', parent.arg, '-u', 'device.pub', '-r', 'device.priv', '-c', 'device.ctx', '-Q'], {
              cwd: dir,
            });
            return fn('device.ctx', dir);
          });
        } finally {
          if (location.kind === 'dir') await this.tools.flushTransient(dir);
          if (leavesSession) await this.tools.flushSessions(dir);
        }
      }),
    );
  }
}

export function requireType(key: DeviceKey, type: DeviceKeyType): DeviceKey {
  if (key.type !== type) throw new InvalidArgumentError(`device key ${key.describe()} is a ${key.type} key, not ${type}`);
  return key;
}
