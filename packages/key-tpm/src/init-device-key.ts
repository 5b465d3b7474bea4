import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@ovseal/container';
import { KEY_DIR_FILES, type KeyDirMetadata } from './lib/device-key.js';
import { formatHandle, formatParent, parseHandle, parseParent, withParent } from './lib/parent.js';
import { currentPcrPolicy } from './lib/pcr-read.js';
import { formatPcrSelection, parsePcrSelection } from './lib/pcr.js';
import { freePersistentHandle } from './lib/persistent-handle.js';
import { keyIdOf, pemOf } from './lib/public-key.js';
import { withTempDir } from './lib/temp-dir.js';
import { Tpm2Tools } from './lib/tools.js';
import { parseTpmPublic } from './lib/tpm-public.js';
import type { DeviceKeyType, StorageParent, TpmOptions } from './types.js';

/** Options of {@link initDeviceKey}. */
export interface InitDeviceKeyOptions extends TpmOptions {
  /** `tpm-ecdh` (P-256, the default) or `tpm-rsa` (RSA-OAEP-SHA-256). */
  readonly type?: DeviceKeyType;
  /** Persist the key at this handle (default 0x81000100 when no `keyDir` is given). */
  readonly handle?: number | string;
  /** Instead of a handle, keep the TPM-encrypted key blobs in this directory (created if needed). */
  readonly keyDir?: string;
  /** Storage parent (default `'owner'`). A key directory needs the same parent to load later. */
  readonly parent?: StorageParent;
  /** Bind the key to these PCRs in their current values (`sha256:0,7`); default: no policy. */
  readonly pcrs?: string;
  /** RSA modulus size (default 2048). */
  readonly rsaBits?: 2048 | 3072;
  /** Replace an existing key at the handle or in the directory (default: refuse). */
  readonly replace?: boolean;
}

/** What {@link initDeviceKey} made: publish `publicKeyPem` / `recipientUri`, keep `identityUri` on the device. */
export interface DeviceKeyInfo {
  readonly type: DeviceKeyType;
  /** SPKI PEM: anyone can wrap to it without a TPM. */
  readonly publicKeyPem: string;
  /** Hex SHA-256 of the SPKI DER (the fingerprint written in stanzas). */
  readonly keyId: string;
  readonly handle?: string;
  readonly keyDir?: string;
  readonly parent: string;
  readonly pcrs: string | null;
  /** `tpm-ecdh:<base64 SPKI>` (or `tpm-rsa:`), for `--recipient`. */
  readonly recipientUri: string;
  /** `tpm:handle=…` or `tpm:dir=…`, for `--identity` on this device. */
  readonly identityUri: string;
}

// Decryption-only, non-exportable (fixedTPM, fixedParent), key generated inside the TPM
// (sensitiveDataOrigin). With a PCR policy, userWithAuth is cleared: the empty password cannot
// stand in for the policy.
function attributesFor(withPolicy: boolean): string {
  return `fixedtpm|fixedparent|sensitivedataorigin|noda|decrypt|${withPolicy ? 'adminwithpolicy' : 'userwithauth'}`;
}

function algorithmFor(type: DeviceKeyType, rsaBits: number): string {
  // The scheme is fixed in the key: the TPM will not use it for anything but ECDH / OAEP-SHA-256.
  return type === 'tpm-ecdh' ? 'ecc256:ecdh-sha256' : `rsa${rsaBits}:oaep-sha256:null`;
}

async function prepareKeyDir(dir: string, replace: boolean): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const exists = await stat(join(dir, KEY_DIR_FILES.metadata)).then(
    () => true,
    () => false,
  );
  if (exists && !replace) {
    throw new InvalidArgumentError(`${dir} already holds a device key`, {
      hint: 'choose another directory, or replace the key (the old one is lost)',
    });
  }
}

function identityUriOf(location: string, pcrs: string | null, tcti: string | undefined): string {
  const params = [pcrs && `pcrs=${pcrs}`, tcti && `tcti=${tcti}`].filter(Boolean).join('&');
  return `tpm:${location}${params ? `?${params}` : ''}`;
}

/**
 * Creates a device key inside the TPM: P-256 for ECDH or RSA for OAEP decryption, non-exportable,
 * optionally bound to the current PCR values. It is persisted at a handle (default 0x81000100) or,
 * with `keyDir`, kept as TPM-encrypted blobs that only this TPM can load.
 *
 * @example
 * ```ts
 * const key = await initDeviceKey({ type: 'tpm-ecdh', handle: 0x81000100, pcrs: 'sha256:7' });
 * console.log(key.keyId, key.publicKeyPem); // give the public key to the key broker
 * const identity = await tpmIdentityFromUri(key.identityUri);
 * ```
 */
export async function initDeviceKey(options: InitDeviceKeyOptions = {}): Promise<DeviceKeyInfo> {
  const type = options.type ?? 'tpm-ecdh';
  if (type !== 'tpm-ecdh' && type !== 'tpm-rsa') throw new InvalidArgumentError(`unknown device key type ${JSON.stringify(type)}`);
  const rsaBits = options.rsaBits ?? 2048;
  if (rsaBits !== 2048 && rsaBits !== 3072) throw new InvalidArgumentError('rsaBits is 2048 or 3072');
  const keyDir = options.keyDir === undefined ? undefined : resolve(options.keyDir);
  if (keyDir !== undefined && options.handle !== undefined) throw new InvalidArgumentError('give a handle or a key directory, not both');
  const handle = keyDir === undefined ? formatHandle(parseHandle(options.handle ?? 0x81000100, 'device key handle')) : undefined;
  const parent = parseParent(options.parent);
  const pcrs = options.pcrs === undefined ? undefined : parsePcrSelection(options.pcrs);
  const tools = new Tpm2Tools(options);
  const replace = options.replace === true;
  if (keyDir !== undefined) await prepareKeyDir(keyDir, replace);

  const publicArea = await tools.exclusive(() =>
    withTempDir(async (dir) => {
      if (handle !== undefined) await freePersistentHandle(tools, handle, replace, dir);
      try {
        return await withParent(tools, parent, dir, async (prepared) => {
          const policy = pcrs ? ['-L', (await currentPcrPolicy(tools, pcrs, dir)).toString('hex')] : [];
          const create = [
            '-C',
            prepared.arg,
            '-g',
            'sha256',
            '-G',
            algorithmFor(type, rsaBits),
            '-a',
            attributesFor(pcrs !== undefined),
            ...policy,
          ];
          await tools.run('create', [...create, '-u', 'device.pub', '-r', 'device.priv', '-Q'], { cwd: dir });
          if (handle !== undefined) {
            // Three transient slots without a resource manager: flush the parent copy create left first.
            await tools.flushTransient(dir);
            await tools.run('load', ['-C', prepared.arg, '-u', 'device.pub', '-r', 'device.priv', '-c', 'device.ctx', '-Q'], { cwd: dir });
            await tools.run('evictcontrol', ['-C', 'o', '-c', 'device.ctx', handle], { cwd: dir });
          } else {
            const [pub, priv] = await Promise.all([readFile(join(dir, 'device.pub')), readFile(join(dir, 'device.priv'))]);
            await Promise.all([
              writeFile(join(keyDir!, KEY_DIR_FILES.publicArea), pub, { mode: 0o600 }),
              writeFile(join(keyDir!, KEY_DIR_FILES.privateArea), priv, { mode: 0o600 }),
            ]);
          }
          return readFile(join(dir, 'device.pub'));
        });
      } finally {
        await tools.flushTransient(dir);
      }
    }),
  );

  const key = parseTpmPublic(publicArea).key!;
  const keyId = keyIdOf(key);
  const pcrText = pcrs ? formatPcrSelection(pcrs) : null;
  if (keyDir !== undefined) {
    const metadata: KeyDirMetadata = { version: 1, type, keyId, parent: formatParent(parent), pcrs: pcrText };
    await writeFile(join(keyDir, KEY_DIR_FILES.publicKeyPem), pemOf(key), { mode: 0o644 });
    await writeFile(join(keyDir, KEY_DIR_FILES.metadata), `${JSON.stringify(metadata, null, 2)}\n`, { mode: 0o600 });
  }
  const spki = key.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    type,
    publicKeyPem: pemOf(key),
    keyId,
    ...(handle === undefined ? {} : { handle }),
    ...(keyDir === undefined ? {} : { keyDir }),
    parent: formatParent(parent),
    pcrs: pcrText,
    recipientUri: `${type}:${spki}`,
    identityUri: identityUriOf(handle !== undefined ? `handle=${handle}` : `dir=${keyDir}`, pcrText, options.tcti),
  };
}
