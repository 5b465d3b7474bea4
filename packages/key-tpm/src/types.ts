/**
 * How to reach the TPM. Every recipient, identity and helper that talks to a TPM takes these.
 */
export interface TpmOptions {
  /**
   * The tpm2-tools TCTI: `swtpm:host=127.0.0.1,port=2321`, `device:/dev/tpmrm0`, `tabrmd`, …
   * Defaults to `$TPM2TOOLS_TCTI`, else to tpm2-tools' own search (tabrmd, then the device).
   */
  readonly tcti?: string;
  /** Per-command timeout in milliseconds (default 30 000: RSA key generation is slow on real TPMs). */
  readonly timeoutMs?: number;
  /**
   * Flush transient objects and sessions after each operation. `auto` (the default) flushes unless the
   * TCTI goes through a resource manager (`tabrmd`, `/dev/tpmrm*`), which flushes them itself.
   */
  readonly flush?: 'auto' | 'always' | 'never';
}

/**
 * The storage parent keys and sealed objects live under: `'owner'` recreates the ECC P-256 storage
 * primary from the owner seed on demand (no provisioning; the same key every time), a number or
 * `0x…` string names a persistent primary (faster: nothing to recreate). {@link createStoragePrimary}
 * persists the same key the `'owner'` form recreates, so both forms open the same stanzas.
 */
export type StorageParent = 'owner' | number | string;

/** Device key algorithms: ECDH on P-256, or RSA-OAEP-SHA-256. */
export type DeviceKeyType = 'tpm-ecdh' | 'tpm-rsa';
