import { setTimeout as sleep } from 'node:timers/promises';
import { JsonFileRollbackStore, type RollbackStore } from '@ovseal/loader';
import { randomUUID } from 'node:crypto';
import { stanzaFromJson, type DeviceModel, type KeyReleaseResponse } from '@ovseal/broker-protocol';
import { join } from 'node:path';
import type { BrokerClient } from '../broker-client.js';
import { EdgeRunnerError } from '../errors.js';
import type { RunnerConfig } from '../load-runner-config.js';
import type { DeviceKey } from '../open-device-key.js';
import { CachedStanzaIdentity } from './cached-stanza-identity.js';
import { downloadResumable } from './download.js';
import type { RunnerLog } from './log.js';
import { cachedKeyOf, isModelId, ModelCache, type CachedKey } from './model-cache.js';
import { progressBar } from './progress.js';
import type { RunnerMetrics } from './metrics.js';
import { loadSealedModel, type RunningModel } from './runtime.js';

/** A model being served. */
export interface ServedModel {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  notAfter: number;
  readonly runtime: 'onnxruntime' | 'openvino';
  readonly model: RunningModel;
  /** `cache`: loaded at start from the cached stanza (no broker needed); `broker`: after a sync. */
  readonly source: 'cache' | 'broker';
  readonly loadedAt: number;
  inFlight: number;
}

export type BrokerState = 'unknown' | 'reachable' | 'unreachable' | 'refused';

// Failures that say the cached container bytes are bad: drop them, download again.
const CORRUPT = new Set(['ERR_AUTHENTICATION_FAILED', 'ERR_TRUNCATED', 'ERR_MALFORMED_HEADER']);

export class ModelManager {
  readonly served = new Map<string, ServedModel>();
  /** Per model id, the last failure (download, key, load). */
  readonly problems = new Map<string, string>();
  broker: { state: BrokerState; lastSyncAt: number | null; lastError: string | null } = {
    state: 'unknown',
    lastSyncAt: null,
    lastError: null,
  };
  readonly #config: RunnerConfig;
  readonly #deviceKey: DeviceKey;
  readonly #client: BrokerClient;
  readonly #cache: ModelCache;
  readonly #log: RunnerLog;
  readonly #rollback: RollbackStore | undefined;
  #syncing: Promise<void> | undefined;
  /** Model ids whose key the broker refused, and until when not to ask again (no audit-log spam). */
  readonly #refusedUntil = new Map<string, number>();
  /** Per model id, the request id of a key fetch not finished yet: a retry reuses it, so the broker counts it once. */
  readonly #pendingKeyRequests = new Map<string, string>();
  readonly #metrics: RunnerMetrics;

  constructor(config: RunnerConfig, deviceKey: DeviceKey, client: BrokerClient, log: RunnerLog, metrics: RunnerMetrics) {
    this.#metrics = metrics;
    this.#config = config;
    this.#deviceKey = deviceKey;
    this.#client = client;
    this.#cache = new ModelCache(config.dataDir);
    this.#log = log;
    this.#rollback = config.rollbackProtection ? new JsonFileRollbackStore(join(config.dataDir, 'rollback.json')) : undefined;
  }

  /** Ids become directory names: anything but `name@version` from the broker is refused. */
  #wellFormed(entry: DeviceModel): boolean {
    if (isModelId(entry.id) && entry.id === `${entry.name}@${entry.version}`) return true;
    this.#log(`ignored a model the broker listed with an invalid id ${JSON.stringify(entry.id).slice(0, 80)}`);
    return false;
  }

  #wanted(name: string): boolean {
    return this.#config.models === undefined || this.#config.models.includes(name);
  }

  async #load(key: CachedKey, source: ServedModel['source']): Promise<ServedModel> {
    const identity = new CachedStanzaIdentity(this.#deviceKey.identity, stanzaFromJson(key.stanza));
    const started = Date.now();
    let model: RunningModel;
    try {
      model = await loadSealedModel(this.#cache.containerPath(key.model), {
        identities: [identity],
        trust: this.#config.trust,
        rollback: this.#rollback,
        runtime: this.#config.runtime,
      });
    } catch (error) {
      this.#metrics.modelLoads.inc({ source, outcome: (error as { code?: string }).code ?? 'error' });
      throw error;
    }
    this.#metrics.modelLoads.inc({ source, outcome: 'ok' });
    this.#metrics.modelLoadTime.observe({ runtime: model.runtime }, (Date.now() - started) / 1000);
    this.#log(
      `loaded ${key.model} into ${model.runtime} in memory (${Date.now() - started} ms; unwrapped with the ${this.#deviceKey.storage === 'tpm' ? 'TPM' : 'FILE'} device key; not after ${key.notAfter})`,
    );
    return {
      id: key.model,
      name: key.name,
      version: key.version,
      notAfter: Date.parse(key.notAfter),
      runtime: model.runtime,
      model,
      source,
      loadedAt: Date.now(),
      inFlight: 0,
    };
  }

  async #handleLoadFailure(key: CachedKey, error: unknown): Promise<void> {
    const code = (error as { code?: string }).code ?? 'error';
    this.problems.set(key.model, `${code}: ${(error as Error).message}`);
    this.#log(`REFUSED to serve ${key.model}: ${code}: ${(error as Error).message}`);
    if (CORRUPT.has(code)) await this.#cache.removeContainer(key.model);
    if (code === 'ERR_NO_MATCHING_KEY') await this.#cache.removeKey(key.model);
  }

  /** Start-up: serve what the cache holds, before (and without) the broker. */
  async loadFromCache(): Promise<void> {
    const now = Date.now();
    const latest = new Map<string, CachedKey>();
    for (const key of await this.#cache.keys()) {
      if (!this.#wanted(key.name)) continue;
      if (Date.parse(key.notAfter) <= now) {
        this.#log(`cached key of ${key.model} expired at ${key.notAfter}: dropped`);
        await this.#cache.removeKey(key.model);
        continue;
      }
      if (!(await this.#cache.hasContainer(key.model, key.size))) continue;
      const current = latest.get(key.name);
      if (!current || key.fetchedAt > current.fetchedAt) latest.set(key.name, key);
    }
    for (const key of latest.values()) {
      try {
        this.served.set(key.name, await this.#load(key, 'cache'));
        this.problems.delete(key.model);
      } catch (error) {
        await this.#handleLoadFailure(key, error);
      }
    }
  }

  /** One exchange with the broker; runs one at a time. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    let models: readonly DeviceModel[];
    try {
      ({ models } = await this.#client.listModels());
    } catch (error) {
      await this.#brokerFailed(error);
      return;
    }
    this.broker = { state: 'reachable', lastSyncAt: Date.now(), lastError: null };
    const wanted = models.filter((entry) => this.#wellFormed(entry) && this.#wanted(entry.name));
    for (const entry of wanted) {
      const current = this.served.get(entry.name);
      if (current?.id === entry.id) {
        await this.#extend(current, entry);
        continue;
      }
      if ((this.#refusedUntil.get(entry.id) ?? 0) > Date.now()) continue;
      try {
        await this.#install(entry);
        this.problems.delete(entry.id);
        this.#refusedUntil.delete(entry.id);
      } catch (error) {
        const code = (error as EdgeRunnerError).brokerCode ?? (error as { code?: string }).code ?? 'error';
        this.problems.set(entry.id, `${code}: ${(error as Error).message}`);
        this.#log(`cannot install ${entry.id}: ${(error as Error).message}`);
        if (code === 'device_revoked') await this.#revokeAll('the broker says this device is revoked');
        // A refused key request is not retried at every poll (each one is an audit record); a broker
        // that could not answer (5xx: its database down, a key service away) is asked again next poll.
        else if ((error as EdgeRunnerError).code === 'ERR_BROKER_REFUSED' && ((error as EdgeRunnerError).status ?? 0) < 500)
          this.#refusedUntil.set(entry.id, Date.now() + Math.max(60_000, this.#config.pollSeconds * 5_000));
      }
    }
    for (const [name, current] of this.served) {
      if (!wanted.some((entry) => entry.name === name)) {
        await this.#unload(name, 'no longer granted (grant revoked or expired)');
        await this.#cache.removeModel(current.id);
      }
    }
  }

  async #brokerFailed(error: unknown): Promise<void> {
    const failure = error as EdgeRunnerError;
    if (failure.code === 'ERR_BROKER_UNREACHABLE') {
      if (this.broker.state !== 'unreachable') this.#log(`broker unreachable: serving ${this.served.size} model(s) from the cache`);
      this.broker = { ...this.broker, state: 'unreachable', lastError: failure.message };
      return;
    }
    this.broker = { ...this.broker, state: 'refused', lastError: failure.message };
    this.#log(`the broker refused: ${failure.message}`);
    if (failure.brokerCode === 'device_revoked') await this.#revokeAll('the broker says this device is revoked');
  }

  async #extend(current: ServedModel, entry: DeviceModel): Promise<void> {
    const notAfter = Date.parse(entry.notAfter);
    if (notAfter === current.notAfter) return;
    current.notAfter = notAfter;
    const key = await this.#cache.readKey(current.id);
    if (key) await this.#cache.writeKey({ ...key, notAfter: entry.notAfter });
  }

  async #install(entry: DeviceModel): Promise<void> {
    await this.#cache.prepare(entry.id);
    if (!(await this.#cache.hasContainer(entry.id, entry.size))) {
      this.#log(`downloading ${entry.id} (${(entry.size / 1024 / 1024).toFixed(1)} MB)`);
      const show = this.#config.progress === 'always' || (this.#config.progress === 'auto' && process.stderr.isTTY === true);
      const result = await downloadResumable({
        url: entry.url,
        dest: this.#cache.containerPath(entry.id),
        size: entry.size,
        etag: entry.etag,
        progress: (total) => progressBar(`edge-runner: ${entry.id}`, total, process.stderr, show),
        // The brokers' own URLs get the brokers' CA and pin; a container hosted elsewhere authenticates itself.
        tls: this.#config.brokerUrls.some((broker) => new URL(broker).origin === new URL(entry.url).origin)
          ? this.#config.brokerTls
          : undefined,
      });
      this.#log(
        `downloaded ${entry.id}${result.resumedFrom > 0 ? ` (resumed at byte ${result.resumedFrom})` : ''}; sealed, stays encrypted on disk`,
      );
    }
    let key = await this.#cache.readKey(entry.id);
    if (!key || key.containerId !== entry.containerId) {
      const requestId = this.#pendingKeyRequests.get(entry.id) ?? randomUUID();
      this.#pendingKeyRequests.set(entry.id, requestId);
      let release: KeyReleaseResponse;
      try {
        release = await this.#client.requestKey(entry.id, requestId);
      } catch (error) {
        this.#metrics.keyFetches.inc({ outcome: (error as EdgeRunnerError).brokerCode ?? (error as EdgeRunnerError).code ?? 'error' });
        // Refused: the next attempt is a new request. Unanswered: it may have been counted, keep the id.
        if ((error as EdgeRunnerError).code === 'ERR_BROKER_REFUSED' && ((error as EdgeRunnerError).status ?? 0) < 500)
          this.#pendingKeyRequests.delete(entry.id);
        throw error;
      }
      this.#metrics.keyFetches.inc({ outcome: 'ok' });
      key = cachedKeyOf(release, entry);
      await this.#cache.writeKey(key);
      this.#pendingKeyRequests.delete(entry.id);
      this.#log(
        `key for ${entry.id} released: a ${release.stanza.type} stanza for this device's key only, cached on disk (${release.releasesLeft} release(s) left)`,
      );
    }
    let served: ServedModel;
    try {
      served = await this.#load(key, 'broker');
    } catch (error) {
      await this.#handleLoadFailure(key, error);
      throw error;
    }
    const previous = this.served.get(entry.name);
    this.served.set(entry.name, served);
    if (previous) {
      this.#log(`now serving ${entry.id} (was ${previous.id})`);
      await this.#dispose(previous);
      await this.#cache.removeModel(previous.id);
    }
  }

  async #dispose(model: ServedModel): Promise<void> {
    for (let waited = 0; model.inFlight > 0 && waited < 30_000; waited += 20) await sleep(20);
    await model.model.dispose();
  }

  async #unload(name: string, why: string): Promise<void> {
    const current = this.served.get(name);
    if (!current) return;
    this.served.delete(name);
    this.#log(`stopped serving ${current.id}: ${why}`);
    await this.#dispose(current);
  }

  async #revokeAll(why: string): Promise<void> {
    for (const [name, current] of [...this.served]) {
      await this.#unload(name, why);
      await this.#cache.removeKey(current.id);
    }
    for (const key of await this.#cache.keys()) await this.#cache.removeKey(key.model);
  }

  /** Stops serving models past their not-after time (online or offline) and drops their keys. */
  async expire(now = Date.now()): Promise<void> {
    for (const [name, current] of [...this.served]) {
      if (current.notAfter <= now) {
        await this.#unload(name, `expired at ${new Date(current.notAfter).toISOString()}`);
        await this.#cache.removeKey(current.id);
      }
    }
  }

  async stopAll(): Promise<void> {
    await this.#syncing?.catch(() => {});
    for (const name of [...this.served.keys()]) await this.#unload(name, 'runner stopping');
  }
}
