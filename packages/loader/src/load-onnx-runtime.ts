import { DisposedError, type ContainerInfo } from '@ovseal/container';
import type { InferenceSession } from 'onnxruntime-node';
import { UnsupportedModelError } from './errors.js';
import { singleEntry } from './lib/model-format.js';
import { externalDataFiles } from './lib/onnx-external-data.js';
import { openSealed } from './lib/open-sealed.js';
import { importOnnxRuntime } from './lib/onnxruntime.js';
import { refuseOnnxRuntimeModelDump } from './lib/unsafe-config.js';
import type { ModelSource, OpenModelOptions } from './types.js';

/** Options of {@link loadOnnxRuntime}. */
export interface LoadOnnxRuntimeOptions extends OpenModelOptions {
  /** ONNX Runtime session options. `optimizedModelFilePath` is refused (`UnsafeConfigError`). */
  readonly sessionOptions?: InferenceSession.SessionOptions | undefined;
}

/** A sealed ONNX model loaded into ONNX Runtime. */
export interface LoadedOnnxRuntimeSession extends AsyncDisposable {
  readonly info: ContainerInfo;
  /** The session; throws `DisposedError` (`ERR_DISPOSED`) once `dispose()` was called. */
  readonly session: InferenceSession;
  /** Releases the session and zeroes any plaintext the loader still holds. Idempotent. */
  dispose(): Promise<void>;
  /** The same as `dispose()`, for `await using` declarations. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Decrypts a sealed ONNX model in memory and creates an `onnxruntime-node` `InferenceSession` from
 * the bytes. Nothing is written to disk: `sessionOptions.optimizedModelFilePath` is refused. The
 * loader's plaintext is zeroed as soon as the session holds its own copy of the model.
 *
 * @example
 * ```ts
 * import { loadOnnxRuntime } from '@ovseal/loader/onnxruntime';
 * import { Tensor } from 'onnxruntime-node';
 *
 * await using loaded = await loadOnnxRuntime('detector.ovseal', {
 *   identities: [deviceIdentity],
 *   sessionOptions: { executionProviders: ['cpu'] },
 * });
 * const { sigmoid_0 } = await loaded.session.run({ x: new Tensor('float32', pixels, [1, 3, 640, 640]) });
 * // loaded.dispose() runs at the end of the block
 * ```
 */
export async function loadOnnxRuntime(source: ModelSource, options: LoadOnnxRuntimeOptions): Promise<LoadedOnnxRuntimeSession> {
  const sessionOptions = options.sessionOptions ?? {};
  refuseOnnxRuntimeModelDump(sessionOptions);
  const ort = await importOnnxRuntime();
  const { model: opened, commit } = await openSealed(source, options);
  const wipe = () => opened.dispose();
  let session: InferenceSession;
  try {
    if (opened.format !== 'onnx') {
      throw new UnsupportedModelError(`ONNX Runtime loads ONNX models; this container holds "${opened.format}"`);
    }
    const entry = singleEntry(opened, 'onnx');
    // External data from the container only: ONNX Runtime never looks for a file on disk.
    const { files } = externalDataFiles(entry, opened);
    // Plain memory over a whole ArrayBuffer (the container's outputs): N-API wraps it, no copy.
    session = await ort.InferenceSession.create(
      entry.data,
      files.length === 0 ? sessionOptions : { ...sessionOptions, externalData: [...files] },
    );
    await commit();
  } catch (error) {
    wipe();
    throw error;
  }
  // ONNX Runtime parsed the bytes into its own memory; keep plaintext no longer than needed,
  // unless the session was told to use the model bytes in place (ORT format models only).
  if (!usesModelBytesInPlace(sessionOptions)) wipe();
  let released: Promise<void> | undefined;
  const dispose = () => {
    released ??= session.release().finally(wipe);
    return released;
  };
  return {
    info: opened.info,
    get session() {
      if (released) throw new DisposedError('the ONNX Runtime session');
      return session;
    },
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

function usesModelBytesInPlace(sessionOptions: InferenceSession.SessionOptions): boolean {
  const extra = sessionOptions.extra as { session?: { use_ort_model_bytes_directly?: unknown } } | undefined;
  const inPlace = extra?.session?.use_ort_model_bytes_directly;
  return inPlace === '1' || inPlace === 1;
}
