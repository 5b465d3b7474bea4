import type { Identity } from '@ovseal/container';
import { initDeviceKey, TpmEcdhIdentity, TpmRsaIdentity } from '@ovseal/key-tpm';
import { EdgeRunnerError } from './errors.js';
import { FileDeviceKey } from './file-device-key.js';
import { DeviceAttestation } from './lib/device-attestation.js';
import type { DeviceKeyConfig } from './load-runner-config.js';

/** The device key as the runner uses it: an identity plus what the broker needs to know. */
export interface DeviceKey {
  readonly identity: Identity;
  readonly keyType: 'tpm-ecdh' | 'tpm-rsa';
  readonly keyId: string;
  readonly publicKeyPem: string;
  /** `tpm`, or `file` — the fallback without hardware protection. */
  readonly storage: 'tpm' | 'file';
  /** The TPM's attestation key, when the config has `deviceKey.attestation`. */
  readonly attestation?: DeviceAttestation;
}

function tpmOptions(config: Extract<DeviceKeyConfig, { kind: 'tpm' }>) {
  return { ...(config.tcti ? { tcti: config.tcti } : {}), ...(config.pcrs ? { pcrs: config.pcrs } : {}) };
}

/**
 * Opens the configured device key (the TPM reads its public part once).
 *
 * @example
 * ```ts
 * const key = await openDeviceKey(config.deviceKey);
 * console.log(key.keyId, key.publicKeyPem);
 * ```
 */
export async function openDeviceKey(config: DeviceKeyConfig): Promise<DeviceKey> {
  if (config.kind === 'file') {
    const key = await FileDeviceKey.fromFile(config.path);
    return { identity: key, keyType: key.keyType, keyId: key.keyId, publicKeyPem: key.publicKeyPem, storage: 'file' };
  }
  const source = config.keyDir !== undefined ? { keyDir: config.keyDir } : { handle: config.handle! };
  try {
    const identity =
      config.type === 'tpm-rsa'
        ? await TpmRsaIdentity.open(source, tpmOptions(config))
        : await TpmEcdhIdentity.open(source, tpmOptions(config));
    const attestation = config.attestation ? await DeviceAttestation.open(config.attestation, config.tcti) : undefined;
    return {
      identity,
      keyType: config.type,
      keyId: identity.keyId,
      publicKeyPem: identity.publicKeyPem,
      storage: 'tpm',
      ...(attestation ? { attestation } : {}),
    };
  } catch (cause) {
    throw new EdgeRunnerError(
      'ERR_DEVICE_KEY',
      `cannot open the TPM device key${config.attestation ? ' or attestation key' : ''}: ${(cause as Error).message}`,
      { cause, hint: 'create them with `ovseal-edge init`' },
    );
  }
}

/**
 * Creates the configured device key: inside the TPM (non-exportable; a key directory or a
 * persistent handle), or a file key for machines without a TPM. With `attestation`, the
 * attestation key too (and the endorsement key made persistent when it is missing).
 *
 * @example
 * ```ts
 * const key = await createDeviceKey(config.deviceKey);
 * ```
 */
export async function createDeviceKey(config: DeviceKeyConfig): Promise<DeviceKey> {
  if (config.kind === 'file') {
    const key = await FileDeviceKey.generate(config.path);
    return { identity: key, keyType: key.keyType, keyId: key.keyId, publicKeyPem: key.publicKeyPem, storage: 'file' };
  }
  await initDeviceKey({
    type: config.type,
    ...(config.keyDir !== undefined ? { keyDir: config.keyDir } : { handle: config.handle! }),
    ...(config.tcti ? { tcti: config.tcti } : {}),
    ...(config.pcrs ? { pcrs: config.pcrs } : {}),
  });
  if (config.attestation) await DeviceAttestation.create(config.attestation, config.tcti);
  return openDeviceKey(config);
}
