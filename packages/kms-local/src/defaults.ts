/**
 * What a kms-local server uses when not told otherwise. The credentials are public on purpose: this
 * is a development and test server, and they work only against it.
 *
 * @example
 * ```ts
 * const client = new KMSClient({ endpoint, region: KMS_LOCAL_DEFAULTS.region, credentials: KMS_LOCAL_DEFAULTS });
 * ```
 */
export const KMS_LOCAL_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  region: 'us-east-1',
  /** AWS's documentation example account. */
  accountId: '111122223333',
  accessKeyId: 'AKIAKMSLOCAL00000000',
  secretAccessKey: 'kms-local-secret-access-key-not-secret',
});
