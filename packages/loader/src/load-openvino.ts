import type { ContainerInfo } from '@ovseal/container';
import type { CompiledModelCache, CompiledModelCacheKey } from './compiled-model-cache.js';
import { UnsupportedModelError } from './errors.js';
import { importCompiledBlob } from './lib/import-blob.js';
import { optionalEntry, singleEntry } from './lib/model-format.js';
import { openSealed } from './lib/open-sealed.js';
import {
  importOpenVino,
  type OpenVinoAddon,
  type OpenVinoBindingChoice,
  type OpenVinoBindingName,
  type OpenVinoCompiledModel,
  type OpenVinoCore,
  type OpenVinoModel,
} from './lib/openvino.js';
import { inlineExternalData } from './lib/onnx-external-data.js';
import { wrappableBytes } from './lib/owned-bytes.js';
import { refuseOpenVinoDiskCache } from './lib/unsafe-config.js';
import type { ModelSource, OpenModelOptions, OpenedModel } from './types.js';

/** Options of {@link loadOpenVino}. */
export interface LoadOpenVinoOptions extends OpenModelOptions {
  /**
   * Which binding runs OpenVINO: `openvino-node` (OpenVINO's npm addon), `openvino-c`
   * (`@ovseal/openvino-c`, OpenVINO's C API over any installed runtime), or `auto` (default): the
   * first that loads, in that order. Ignored when `openvino` is given.
   */
  readonly binding?: OpenVinoBindingChoice | undefined;
  /** The binding's addon object, if you load it yourself (openvino-node's `addon`, or `await loadOpenVinoC()`). */
  readonly openvino?: OpenVinoAddon | undefined;
  /** The OpenVINO core to use (default: a new `Core` of the binding). Pass `openvino` with it if it is not the default binding's. */
  readonly core?: OpenVinoCore | undefined;
  /** Device to compile for (default `CPU`). */
  readonly device?: string | undefined;
  /** Compile config. `CACHE_DIR` is refused (`UnsafeConfigError`): use `cache` instead. */
  readonly config?: Readonly<Record<string, string>> | undefined;
  /** An encrypted compiled-model cache: a hit skips the compile. */
  readonly cache?: CompiledModelCache | undefined;
}

/** A sealed model loaded into OpenVINO. */
export interface LoadedOpenVinoModel {
  readonly info: ContainerInfo;
  /**
   * The model as read (IR or ONNX). `undefined` when the compiled model came from the cache or the
   * container holds a compiled blob: no readable model exists then.
   */
  readonly model: OpenVinoModel | undefined;
  readonly compiledModel: OpenVinoCompiledModel;
  /** True when the compiled model was imported from the encrypted cache. */
  readonly fromCache: boolean;
  /** The binding that loaded the model (`custom` when `openvino` was passed) and OpenVINO's version where known. */
  readonly binding: { readonly name: OpenVinoBindingName | 'custom'; readonly version: string | undefined };
  /** The binding's addon: make input tensors with its `Tensor`. */
  readonly openvino: OpenVinoAddon;
  /**
   * Releases the runtime's objects where the binding can (`@ovseal/openvino-c` frees the compiled
   * model and the model at once), then zeroes the plaintext the loader still holds: the IR
   * weights, which OpenVINO reads in place. Call it when you no longer use `model`,
   * `compiledModel` or requests made from them. Idempotent.
   */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** Keeps wrapped weight memory alive as long as a model that may point into it. */
const keepAlive = new WeakMap<object, unknown>();

/**
 * Decrypts a sealed model in memory and loads it into OpenVINO: an IR through
 * `readModel(xml, new Tensor(u8, [n], weights))` (the weights are wrapped, not copied), an ONNX
 * model through `readModel(bytes)`, a compiled blob through `importModel`. Nothing is written to
 * disk: a `CACHE_DIR` config is refused; `cache` offers an encrypted compiled-model cache instead.
 *
 * OpenVINO comes from `openvino-node` when its native runtime loads, else from
 * `@ovseal/openvino-c` over an installed OpenVINO runtime (both optional peer dependencies, imported
 * on first use). With neither, this throws `OpenVinoUnavailableError` (`ERR_OPENVINO_UNAVAILABLE`)
 * with a hint, before any key is unwrapped.
 *
 * @example
 * ```ts
 * import { loadOpenVino } from '@ovseal/loader';
 *
 * const loaded = await loadOpenVino('/opt/models/detector.ovseal', {
 *   identities: [deviceIdentity],
 *   trust: { publicKeys: [publisherPem] },
 *   device: 'CPU',
 *   config: { PERFORMANCE_HINT: 'LATENCY' },
 * });
 * const request = loaded.compiledModel.createInferRequest();
 * const result = await request.inferAsync({ x: new loaded.openvino.Tensor('f32', [1, 3, 640, 640], pixels) });
 * loaded.dispose();
 * ```
 */
export async function loadOpenVino(source: ModelSource, options: LoadOpenVinoOptions): Promise<LoadedOpenVinoModel> {
  const device = options.device ?? 'CPU';
  const config = { ...(options.config ?? {}) };
  refuseOpenVinoDiskCache(config, options.core);
  // Fail on a missing runtime before any key is unwrapped or byte decrypted.
  const binding = options.openvino
    ? { name: 'custom' as const, addon: options.openvino, version: undefined }
    : await importOpenVino(options.binding ?? 'auto');
  const core = options.core ?? new binding.addon.Core();

  const { model: opened, commit } = await openSealed(source, options);
  const owned: Uint8Array[] = [];
  const release: (() => void)[] = [];
  const wipe = () => {
    opened.dispose();
    for (const bytes of owned) bytes.fill(0);
    for (const done of release) done();
  };
  let loaded: Compiled;
  try {
    loaded = await compile(opened, { core, addon: binding.addon, device, config, cache: options.cache, owned, release });
    await commit();
  } catch (error) {
    wipe();
    throw error;
  }
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    // Native objects first: nothing may read the weights once they are zeroed.
    loaded.compiledModel.dispose?.();
    loaded.model?.dispose?.();
    wipe();
  };
  return {
    info: opened.info,
    ...loaded,
    binding: { name: binding.name, version: binding.version },
    openvino: binding.addon,
    dispose,
    [Symbol.dispose]: dispose,
  };
}

interface CompileContext {
  readonly core: OpenVinoCore;
  readonly addon: OpenVinoAddon;
  readonly device: string;
  readonly config: Record<string, string>;
  readonly cache: CompiledModelCache | undefined;
  /** Copies the loader made; zeroed by dispose. */
  readonly owned: Uint8Array[];
  /** Plaintext held by others (a cache entry's blob); released by dispose. */
  readonly release: (() => void)[];
}

type Compiled = Pick<LoadedOpenVinoModel, 'model' | 'compiledModel' | 'fromCache'>;

async function compile(opened: OpenedModel, context: CompileContext): Promise<Compiled> {
  const { core, device, config } = context;
  if (opened.format === 'openvino-blob') {
    // The compiled model reads the blob in place: it is zeroed by dispose(), after the model is released.
    const blob = singleEntry(opened, 'blob');
    const compiledModel = await importCompiledBlob(core, blob.data, device, config);
    return { model: undefined, compiledModel, fromCache: false };
  }
  if (opened.format !== 'openvino-ir' && opened.format !== 'onnx') {
    throw new UnsupportedModelError(`OpenVINO cannot load a model of format "${opened.format}"`);
  }
  const cacheKey = context.cache ? cacheKeyOf(opened, context) : undefined;
  if (context.cache && cacheKey) {
    const cached = await context.cache.load(core, cacheKey);
    if (cached) {
      // The decrypted source model is not needed; the cached blob is, until dispose().
      opened.dispose();
      context.release.push(cached.release);
      return { model: undefined, compiledModel: cached.compiledModel, fromCache: true };
    }
  }
  const model = opened.format === 'openvino-ir' ? await readIr(opened, context) : await readOnnx(opened, core);
  let compiledModel: OpenVinoCompiledModel;
  try {
    compiledModel = await core.compileModel(model, device, config);
  } catch (error) {
    model.dispose?.();
    throw error;
  }
  keepAlive.set(compiledModel, keepAlive.get(model));
  if (context.cache && cacheKey) await context.cache.store(compiledModel, cacheKey);
  return { model, compiledModel, fromCache: false };
}

async function readIr(opened: OpenedModel, context: CompileContext): Promise<OpenVinoModel> {
  const xml = new TextDecoder('utf-8', { fatal: true }).decode(singleEntry(opened, 'xml').data);
  const weightsEntry = optionalEntry(opened, 'weights');
  const ov = context.addon;
  let weights: Uint8Array = new Uint8Array(0);
  if (weightsEntry !== undefined) {
    const wrappable = wrappableBytes(weightsEntry.data);
    if (wrappable.copied) {
      // Keep one plaintext copy: the shared buffer is zeroed now, the copy by dispose().
      context.owned.push(wrappable.bytes);
      weightsEntry.data.fill(0);
    }
    weights = wrappable.bytes;
  }
  const tensor = weights.byteLength === 0 ? new ov.Tensor('u8', [0]) : new ov.Tensor('u8', [weights.byteLength], weights);
  const model = await context.core.readModel(xml, tensor);
  // OpenVINO constants point into `weights`: they must outlive the model and what is compiled from it.
  keepAlive.set(model, { weights, tensor });
  return model;
}

async function readOnnx(opened: OpenedModel, core: OpenVinoCore): Promise<OpenVinoModel> {
  const entry = singleEntry(opened, 'onnx');
  // External data comes from the container, inlined; never from a file OpenVINO would look for.
  const inlined = inlineExternalData(entry, opened);
  const onnx = inlined ?? entry.data;
  try {
    return await core.readModel(Buffer.from(onnx.buffer, onnx.byteOffset, onnx.byteLength));
  } finally {
    // readModel copied the bytes into native memory: this plaintext is no longer needed.
    onnx.fill(0);
  }
}

/** The cache key, or `undefined` (no caching) if the runtime cannot report its version. */
function cacheKeyOf(opened: OpenedModel, context: CompileContext): CompiledModelCacheKey | undefined {
  let runtimeVersion: string;
  try {
    runtimeVersion = runtimeVersionOf(context.core, context.device);
  } catch {
    return undefined;
  }
  return { modelDigest: opened.info.payloadDigest, device: context.device, runtimeVersion, config: context.config };
}

function runtimeVersionOf(core: OpenVinoCore, device: string): string {
  const versions = core.getVersions(device);
  return Object.entries(versions)
    .map(([name, version]) => `${name}:${version.buildNumber}`)
    .sort()
    .join(',');
}
