import type { KMSClient, KMSClientConfig } from '@aws-sdk/client-kms';

/**
 * How key-kms reaches KMS. With no options it uses the SDK's defaults: the default credential chain
 * (environment, `AWS_PROFILE`/shared files, SSO, web identity, container and instance roles), the
 * region from the key ARN or else `AWS_REGION`/the profile, and `AWS_ENDPOINT_URL_KMS` if set.
 */
export interface KmsClientOptions {
  /**
   * A client you configured, used for every call; or a function giving the client for a region
   * (`undefined` for a key named without an ARN). With a single client, its region is the one used:
   * pass a function to use keys of several regions.
   */
  readonly client?: KMSClient | ((region: string | undefined) => KMSClient);
  /** Region for keys named without an ARN (alias name, bare id). Default: the SDK's (`AWS_REGION`). */
  readonly region?: string;
  /** KMS endpoint, e.g. a kms-local server. Default: the SDK's (`AWS_ENDPOINT_URL_KMS`, else AWS). */
  readonly endpoint?: string;
  /** Credentials or a credential provider. Default: the SDK's default credential chain. */
  readonly credentials?: KMSClientConfig['credentials'];
  /** Per-attempt timeout in ms (the HTTP request). Default 10 000. */
  readonly timeoutMs?: number;
  /** Connection timeout in ms. Default 3 000. */
  readonly connectTimeoutMs?: number;
  /** Attempts per call, retries included (SDK standard retry mode with backoff). Default 3. */
  readonly maxAttempts?: number;
  /** Bound on one whole call, retries and backoff included, in ms. Default 30 000. */
  readonly deadlineMs?: number;
}

/**
 * The opt-in cache of unwrapped data keys. A cached key is reused for the same stanza and context
 * (the same container) until it has been used `maxUses` times or `ttlMs` has passed; it lives in
 * this process's memory only and is zeroed when evicted.
 */
export interface KmsCacheOptions {
  /** Lifetime of an entry in ms. Default 300 000 (5 min). */
  readonly ttlMs?: number;
  /** Uses of an entry, the first included. Default 100. */
  readonly maxUses?: number;
  /** Entries kept at most (oldest evicted first). Default 64. */
  readonly maxEntries?: number;
  /** Clock in ms, for tests. Default `Date.now`. */
  readonly now?: () => number;
}

export interface KmsIdentityOptions extends KmsClientOptions {
  /** Cache unwrapped data keys (off by default). */
  readonly cache?: KmsCacheOptions;
}

/**
 * Which keys a discovery-mode identity may use: a stanza whose key ARN is outside the filter is
 * not this identity's (unwrap returns null; no KMS call is made for it).
 */
export interface KmsDiscoveryFilter {
  /** Allowed AWS account ids (12 digits). Default: any. */
  readonly accountIds?: readonly string[];
  /** Allowed regions. Default: any. */
  readonly regions?: readonly string[];
  /** Allowed partition. Default `aws`. */
  readonly partition?: string;
}
