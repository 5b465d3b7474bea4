import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@ovseal/atomic-file';
import type { KeyReleaseResponse } from '@ovseal/broker-protocol';
import { EdgeRunnerError } from '../errors.js';

/** The device-wrapped key of one model version, as cached on disk (useless without this device's TPM). */
export interface CachedKey extends Omit<KeyReleaseResponse, 'releasesLeft'> {
  // notAfter (ISO): the runner stops serving the model after this time, online or not.
  readonly fetchedAt: string;
  readonly size: number;
  readonly etag: string | null;
}

/** The cache record of a key just released, for a container of this size and ETag. */
export function cachedKeyOf(release: KeyReleaseResponse, container: { readonly size: number; readonly etag: string | null }): CachedKey {
  return {
    model: release.model,
    name: release.name,
    version: release.version,
    containerId: release.containerId,
    stanza: release.stanza,
    notAfter: release.notAfter,
    fetchedAt: new Date().toISOString(),
    size: container.size,
    etag: container.etag,
  };
}

const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}@[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/** `name@version` as the broker makes it (its name and version patterns). */
export function isModelId(id: unknown): id is string {
  return typeof id === 'string' && MODEL_ID.test(id);
}

/**
 * On-disk layout under the data dir: `models/<name@version>/container.ovseal` (ciphertext, as
 * downloaded) and `models/<name@version>/key.json` (the stanza wrapped to this device's key).
 * Nothing decrypted is ever written here.
 */
export class ModelCache {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'models');
  }

  /**
   * A model's directory. The id comes from the broker: it must be `name@version` (the broker's own
   * patterns), so it is never `.`, `..` or a path — else the runner could write or delete outside
   * its models (dropping `..` would delete the data directory and reset rollback protection).
   */
  dirOf(id: string): string {
    if (!isModelId(id))
      throw new EdgeRunnerError('ERR_BAD_MODEL_ID', `refusing model id ${JSON.stringify(id)}: a model id is name@version`);
    return join(this.root, id);
  }

  containerPath(id: string): string {
    return join(this.dirOf(id), 'container.ovseal');
  }

  async prepare(id: string): Promise<void> {
    await mkdir(this.dirOf(id), { recursive: true, mode: 0o700 });
  }

  async hasContainer(id: string, size: number): Promise<boolean> {
    return stat(this.containerPath(id)).then(
      (s) => s.size === size,
      () => false,
    );
  }

  async readKey(id: string): Promise<CachedKey | undefined> {
    return readFile(join(this.dirOf(id), 'key.json'), 'utf8').then(
      (text) => JSON.parse(text) as CachedKey,
      () => undefined,
    );
  }

  /** Atomic replace (`@ovseal/atomic-file`: temp file, fsync, rename, directory fsync), mode 0600. */
  async writeKey(key: CachedKey): Promise<void> {
    await this.prepare(key.model);
    await writeFileAtomic(join(this.dirOf(key.model), 'key.json'), `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
  }

  async removeKey(id: string): Promise<void> {
    await rm(join(this.dirOf(id), 'key.json'), { force: true });
  }

  async removeContainer(id: string): Promise<void> {
    await rm(this.containerPath(id), { force: true });
  }

  async removeModel(id: string): Promise<void> {
    await rm(this.dirOf(id), { recursive: true, force: true });
  }

  /** Every cached key (a model directory without one is an unfinished download; a key naming another model is ignored). */
  async keys(): Promise<CachedKey[]> {
    const names = (await readdir(this.root).catch(() => [] as string[])).filter(isModelId);
    const keys = await Promise.all(
      names.map((name) =>
        readFile(join(this.root, name, 'key.json'), 'utf8').then(
          (text) => JSON.parse(text) as CachedKey,
          () => undefined,
        ),
      ),
    );
    return keys.filter(
      (key, i): key is CachedKey => key !== undefined && key.model === names[i] && key.model === `${key.name}@${key.version}`,
    );
  }
}
