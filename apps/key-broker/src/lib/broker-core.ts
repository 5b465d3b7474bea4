import { createWrapContext, type Identity, type Stanza, type TrustPolicy, type WrapContext } from '@ovseal/container';
import { stanzaFromJson } from '../protocol/stanza-json.js';
import type { AuditInput, BrokerStore, ModelRecord } from '../store.js';
import type { DeviceAuthenticator } from './device-auth.js';
import type { DeviceRecipients } from './device-keys.js';
import { HttpError } from './http.js';
import type { Logger } from './logger.js';
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
}

/** Writes an audit record for a refusal, then throws the refusal. */
export async function refuse(core: BrokerCore, ctx: RequestContext, audit: Omit<AuditInput, 'at' | 'outcome' | 'remote' | 'reason'>, status: number, reason: string, message: string): Promise<never> {
  await core.store.appendAudit({ ...audit, at: ctx.now, outcome: 'refused', reason, remote: ctx.remote });
  throw new HttpError(status, reason, message);
}

/**
 * Unwraps registered models' data keys with the broker's identities. The parsed stanzas and
 * contexts are kept per model; the data keys are not (the KMS identity's opt-in cache holds them,
 * bounded in uses and time, so KMS is not called on every release).
 */
export class ModelKeyring {
  readonly #identities: readonly Identity[];
  readonly #parsed = new Map<string, { stanzas: Stanza[]; context: WrapContext }>();

  constructor(identities: readonly Identity[]) {
    this.#identities = identities;
  }

  #parse(model: ModelRecord): { stanzas: Stanza[]; context: WrapContext } {
    let parsed = this.#parsed.get(model.id);
    if (parsed === undefined) {
      const context = createWrapContext({ containerId: Buffer.from(model.containerId, 'hex'), modelName: model.name, modelVersion: model.version });
      parsed = { stanzas: model.stanzas.map(stanzaFromJson), context };
      if (this.#parsed.size > 1024) this.#parsed.clear();
      this.#parsed.set(model.id, parsed);
    }
    return parsed;
  }

  contextOf(model: ModelRecord): WrapContext {
    return this.#parse(model).context;
  }

  /** The data key (the caller zeroes it); throws when no identity unwraps. */
  async unwrap(model: ModelRecord): Promise<Uint8Array> {
    const { stanzas, context } = this.#parse(model);
    let firstError: unknown;
    for (const identity of this.#identities) {
      try {
        const key = await identity.unwrap(stanzas, context);
        if (key) return key;
      } catch (error) {
        firstError ??= error;
      }
    }
    throw firstError ?? new Error('no broker identity unwraps this model any more');
  }
}
