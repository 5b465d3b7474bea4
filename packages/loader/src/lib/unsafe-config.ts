import { UnsafeConfigError } from '../errors.js';
import type { OpenVinoCore } from './openvino.js';

const CACHE_DIR = 'CACHE_DIR';

const CACHE_DIR_HINT =
  'remove CACHE_DIR; pass `cache: new CompiledModelCache({ dir, recipients, identities })` to loadOpenVino for ' +
  'an encrypted compiled-model cache instead';

/**
 * OpenVINO's CACHE_DIR stores the compiled model in clear, and openvino-node cannot set
 * CACHE_ENCRYPTION_CALLBACKS: refuse it in the compile config and on the core itself.
 */
export function refuseOpenVinoDiskCache(config: Readonly<Record<string, unknown>>, core?: OpenVinoCore): void {
  for (const key of Object.keys(config)) {
    if (key.toUpperCase() === CACHE_DIR) {
      throw new UnsafeConfigError(`config ${key}`, 'OpenVINO would write the compiled model to disk in clear', CACHE_DIR_HINT);
    }
  }
  if (core !== undefined && coreCacheDir(core) !== '') {
    throw new UnsafeConfigError(
      'core property CACHE_DIR',
      'the OpenVINO core has a model cache directory set, where compiled models are written in clear',
      `${CACHE_DIR_HINT}, and do not call core.setProperty({ CACHE_DIR })`,
    );
  }
}

function coreCacheDir(core: OpenVinoCore): string {
  if (typeof core.getProperty !== 'function') return '';
  try {
    const value = core.getProperty(CACHE_DIR);
    return typeof value === 'string' ? value : '';
  } catch {
    // Runtimes that do not know the property cannot cache either.
    return '';
  }
}

/** ONNX Runtime writes the optimised graph, weights included, to `optimizedModelFilePath`. */
export function refuseOnnxRuntimeModelDump(sessionOptions: { optimizedModelFilePath?: string | undefined }): void {
  if (sessionOptions.optimizedModelFilePath) {
    throw new UnsafeConfigError(
      'sessionOptions.optimizedModelFilePath',
      'ONNX Runtime would write the optimised model, weights included, to disk in clear',
      'remove optimizedModelFilePath from the session options',
    );
  }
}
