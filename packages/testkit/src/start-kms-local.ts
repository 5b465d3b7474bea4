import { startKmsLocal as startServer, type KmsLocal, type KmsLocalKey, type KmsLocalOptions } from '@ovseal/kms-local';

/** Options of {@link startKmsLocal}: kms-local's own, and the alias of the key made for you. */
export interface TestKmsOptions extends KmsLocalOptions {
  /** Alias of the symmetric key created at start (default `alias/models`). */
  readonly alias?: string;
}

/** A kms-local server with one key, and everything a client or a child process needs to reach it. */
export interface TestKms {
  readonly kms: KmsLocal;
  /** The key created at start. */
  readonly key: KmsLocalKey;
  /** Its ARN. */
  readonly keyArn: string;
  /** `aws-kms:ARN`, for `-r`/`-i` of the CLI and `kmsRecipientFromUri`. */
  readonly uri: string;
  /** `AWS_ENDPOINT_URL_KMS`, `AWS_REGION` and credentials, for a child process (the CLI, a broker). */
  readonly env: Readonly<Record<string, string>>;
  /** For `new KMSClient(clientOptions)` or `kmsRecipientFromUri(uri, clientOptions)`. */
  readonly clientOptions: { readonly endpoint: string; readonly region: string; readonly credentials: KmsLocal['credentials'] };
  /** Stops kms-local. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts kms-local (a KMS-compatible server on 127.0.0.1, a free port, memory only unless
 * `stateFile`) with one symmetric key, and returns what clients need to use it.
 *
 * @example
 * ```ts
 * const kms = await startKmsLocal();
 * const recipient = kmsRecipientFromUri(kms.uri, kms.clientOptions);
 * // … seal to it; open with kmsIdentityFromUri(kms.uri, kms.clientOptions)
 * await kms.close();
 * ```
 */
export async function startKmsLocal(options: TestKmsOptions = {}): Promise<TestKms> {
  const { alias = 'alias/models', ...serverOptions } = options;
  const kms = await startServer(serverOptions);
  try {
    const key = await kms.createKey({ alias });
    const clientOptions = { endpoint: kms.endpoint, region: kms.region, credentials: kms.credentials };
    return {
      kms,
      key,
      keyArn: key.arn,
      uri: `aws-kms:${key.arn}`,
      env: {
        AWS_ENDPOINT_URL_KMS: kms.endpoint,
        AWS_REGION: kms.region,
        AWS_ACCESS_KEY_ID: kms.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: kms.credentials.secretAccessKey,
      },
      clientOptions,
      close: () => kms.close(),
      [Symbol.asyncDispose]: () => kms.close(),
    };
  } catch (error) {
    await kms.close();
    throw error;
  }
}
