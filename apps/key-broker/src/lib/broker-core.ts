import { inspect, rewrapHeader, type Identity, type Recipient, type Stanza, type TrustPolicy } from '@ovseal/container';
import { BrokerError } from '../errors.js';
import type { AuditInput, BrokerStore, ModelRecord } from '../store.js';
import type { AttestationSettings } from './attestation/settings.js';
import type { DeviceAuthenticator } from './device-auth.js';
import type { DeviceRecipients } from './device-keys.js';
import { readHeaderArea } from './model-registry.js';
import { HttpError } from './http.js';
import type { Logger } from './logger.js';
import type { BrokerMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RequestContext } from './router.js';
import type { UrlSigner } from './signed-url.js';

/** Everything the routes share. */
export interface BrokerCore {
  readonly store: BrokerStore;
  readonly identities: readonly Identity[];
  readonly trust: TrustPolicy | undefined;
  readonly recipients: DeviceRecipients;
  readonly authenticator: DeviceAuthenticator;
  readonly signer: UrlSigner;
  readonly logger: Logger;
  /** SHA-256 of the admin bearer token; undefined when admins use client certificates only. */
  readonly adminTokenDigest: Buffer | undefined;
  /** Admin client certificates (mTLS) are accepted. */
  readonly adminMtls: boolean;
  readonly publicUrl: () => string;
  readonly dataDir: string;
  readonly limits: { readonly jsonBytes: number; readonly deviceBytes: number; readonly containerBytes: number };
  readonly urlTtlSeconds: number;
  readonly deviceLimiter: RateLimiter | undefined;
  readonly modelKeys: ModelKeyring;
  readonly attestation: AttestationSettings;
  readonly metrics: BrokerMetrics;
  /** SHA-256 of the metrics bearer token, if one is configured. */
  readonly metricsTokenDigest: Buffer | undefined;
}

type RefusalAudit = Omit<AuditInput, 'at' | 'outcome' | 'remote' | 'reason'>;

/** Writes an audit record for a refusal, then throws the refusal. */
export async function refuse(
  core: BrokerCore,
  ctx: RequestContext,
  audit: RefusalAudit,
  status: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): Promise<never> {
  await core.store.appendAudit({ ...audit, at: ctx.now, outcome: 'refused', reason, remote: ctx.remote });
  throw new HttpError(status, reason, message, {}, details);
}

/** Runs `check`; a refusal it throws (an HttpError) is audited first, with its code as the reason. */
export async function withAuditedRefusal<T>(
  core: BrokerCore,
  ctx: RequestContext,
  audit: RefusalAudit,
  check: () => Promise<T>,
): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return refuse(core, ctx, audit, error.status, error.code, error.message, { ...error.details });
  }
}

/**
 * Releases registered models' data keys through the container's checked path: each release unwraps
 * from the model's registered header with the broker's identities (key commitment and header MAC
 * checked) and wraps to one recipient inside `@ovseal/container` — the data key never reaches the
 * broker's code. The KMS identity's opt-in cache keeps KMS from being called on every release.
 */
export class ModelKeyring {
  readonly #identities: readonly Identity[];

  constructor(identities: readonly Identity[]) {
    this.#identities = identities;
  }

  /** The model's header area: stored at registration; read from the file for models registered before. */
  async #headerOf(model: ModelRecord): Promise<Uint8Array> {
    if (model.header) return model.header;
    if (model.storage.kind !== 'file')
      throw new BrokerError('ERR_BROKER_STORE', `model ${model.id} has no stored header: register it again`);
    return readHeaderArea(model.storage.path, (await inspect(model.storage.path)).payloadOffset);
  }

  /** One stanza for `recipient`; throws when no identity unwraps the header or it does not verify. */
  async rewrapFor(model: ModelRecord, recipient: Recipient): Promise<Stanza> {
    const { stanzas } = await rewrapHeader(await this.#headerOf(model), { identities: this.#identities, recipients: [recipient] });
    if (stanzas.length !== 1) throw new BrokerError('ERR_BROKER_CONFIG', `a device recipient made ${stanzas.length} stanzas`);
    return stanzas[0]!;
  }
}
