import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { renameDurably } from '@ovseal/atomic-file';
import {
  inspect,
  OvsealError,
  verifyHeader,
  verify,
  type ContainerInfo,
  type Identity,
  type Stanza,
  type TrustPolicy,
} from '@ovseal/container';
import { stanzaToJson } from '@ovseal/broker-protocol';
import type { ModelRecord } from '../store.js';
import { HttpError, VERSION_PATTERN } from './http.js';

// Failures of the container itself; anything else (KMS, TPM, a key file) is the key being unavailable.
const CONTAINER_CODES = new Set([
  'ERR_MALFORMED_HEADER',
  'ERR_UNSUPPORTED_VERSION',
  'ERR_LIMIT_EXCEEDED',
  'ERR_NO_MATCHING_KEY',
  'ERR_AUTHENTICATION_FAILED',
  'ERR_TRUNCATED',
  'ERR_SIGNATURE_MISSING',
  'ERR_SIGNATURE_INVALID',
  'ERR_SIGNATURE_UNTRUSTED',
  'ERR_EXPIRED',
]);
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Streams the upload to a temp file (bounded), hashing it. */
async function receive(req: IncomingMessage, dir: string, limit: number): Promise<{ path: string; size: number; sha256: string }> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'body_too_large', `a container upload is limited to ${limit} bytes`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `upload-${randomBytes(8).toString('hex')}.part`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > limit) return done(new HttpError(413, 'body_too_large', `a container upload is limited to ${limit} bytes`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(req, meter, createWriteStream(path, { mode: 0o600 }));
  } catch (error) {
    await rm(path, { force: true });
    throw error instanceof HttpError ? error : new HttpError(400, 'upload_failed', 'the upload did not complete');
  }
  return { path, size, sha256: hash.digest('hex') };
}

export interface RegisterOptions {
  readonly identities: readonly Identity[];
  readonly trust: TrustPolicy | undefined;
  readonly containersDir: string;
  readonly maxBytes: number;
  /** Set for a header-only registration: where devices download the container. */
  readonly externalUrl: string | undefined;
  readonly now: number;
  /** Versions are immutable: a registered id is refused before any key is used. */
  readonly isRegistered: (id: string) => Promise<boolean>;
}

/**
 * Registers a sealed model from an upload: the whole container (verified end to end with the
 * broker's key: header MAC, key commitment and every payload tag, plus the publisher signature when
 * a trust policy is set) or only its header with an external URL (the header MAC and the key
 * commitment are checked). Either way the broker proves now that it can unwrap the data key.
 */
export async function registerModel(req: IncomingMessage, options: RegisterOptions): Promise<ModelRecord> {
  const upload = await receive(req, join(options.containersDir, 'uploads'), options.maxBytes);
  try {
    const info = await inspectUpload(upload.path);
    const headerOnly = upload.size === info.payloadOffset && info.totalSize !== info.payloadOffset;
    if (headerOnly !== (options.externalUrl !== undefined)) {
      throw new HttpError(
        400,
        'bad_request',
        headerOnly
          ? 'a header-only registration needs ?url= (where devices download the container)'
          : 'give either the whole container, or its header with ?url=',
      );
    }
    if (!headerOnly && upload.size !== info.totalSize)
      throw new HttpError(400, 'bad_container', `the container should be ${info.totalSize} bytes, the upload has ${upload.size}`);
    if (!NAME_PATTERN.test(info.metadata.name) || !VERSION_PATTERN.test(info.metadata.version)) {
      throw new HttpError(400, 'bad_container', 'model name and version must be short ASCII identifiers ([A-Za-z0-9._-], version also +)');
    }
    const id = `${info.metadata.name}@${info.metadata.version}`;
    if (await options.isRegistered(id)) throw new HttpError(409, 'model_exists', `${id} is registered already: seal a new version`);
    const stanzas = await checkUnwrapsAndVerifies(upload.path, options.identities, options.trust, headerOnly);
    const header = await readHeaderArea(upload.path, info.payloadOffset);
    const record: ModelRecord = {
      id,
      name: info.metadata.name,
      version: info.metadata.version,
      containerId: info.containerId,
      format: info.metadata.format,
      createdAt: info.metadata.createdAt.getTime(),
      notAfter: info.metadata.notAfter ? info.metadata.notAfter.getTime() : null,
      entries: info.entries.map((entry) => ({ name: entry.name, role: entry.role, size: entry.size })),
      stanzas: stanzas.map(stanzaToJson),
      size: info.totalSize,
      sha256: headerOnly ? null : upload.sha256,
      payloadDigest: info.payloadDigest,
      signatureKeyId: info.signature?.keyId ?? null,
      storage: headerOnly
        ? { kind: 'url', url: options.externalUrl! }
        : { kind: 'file', path: join(options.containersDir, `${upload.sha256}.ovseal`) },
      registeredAt: options.now,
      header,
    };
    if (record.storage.kind === 'file') await renameDurably(upload.path, record.storage.path);
    return record;
  } finally {
    await rm(upload.path, { force: true });
  }
}

/** The container's first `payloadOffset` bytes: what key releases unwrap from. */
export async function readHeaderArea(path: string, payloadOffset: number): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const area = Buffer.alloc(payloadOffset);
    const { bytesRead } = await file.read(area, 0, payloadOffset, 0);
    if (bytesRead !== payloadOffset) throw new HttpError(400, 'bad_container', 'the upload is shorter than its header area');
    return area;
  } finally {
    await file.close();
  }
}

async function inspectUpload(path: string): Promise<ContainerInfo> {
  try {
    return await inspect(path);
  } catch (error) {
    throw new HttpError(400, 'bad_container', `not an ovseal container: ${(error as Error).message}`);
  }
}

/**
 * Proves the broker can unwrap the data key (commitment and header MAC checked), and for a whole
 * container also checks every payload tag (and the signature's payload digest). Returns the stanzas.
 */
async function checkUnwrapsAndVerifies(
  path: string,
  identities: readonly Identity[],
  trust: TrustPolicy | undefined,
  headerOnly: boolean,
): Promise<readonly Stanza[]> {
  try {
    const verified = await verifyHeader(path, { identities, ...(trust ? { trust } : {}) });
    if (!headerOnly) await verify(path, { identities, ...(trust ? { trust } : {}) });
    return verified.stanzas;
  } catch (error) {
    if (error instanceof OvsealError && CONTAINER_CODES.has(error.code)) {
      const status = error.code === 'ERR_NO_MATCHING_KEY' ? 422 : 400;
      throw new HttpError(
        status,
        error.code === 'ERR_NO_MATCHING_KEY' ? 'no_broker_key' : 'bad_container',
        `${error.code}: ${error.message}`,
      );
    }
    throw new HttpError(502, 'key_unavailable', `the broker could not unwrap the data key: ${(error as Error).message}`);
  }
}
