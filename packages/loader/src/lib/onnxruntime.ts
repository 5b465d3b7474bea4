import type * as ort from 'onnxruntime-node';
import { OnnxRuntimeUnavailableError } from '../errors.js';

/** The `onnxruntime-node` module, typed by its own `.d.ts`. */
export type OnnxRuntimeModule = typeof ort;

let cached: Promise<OnnxRuntimeModule> | undefined;

/** Imports `onnxruntime-node` on first use (an optional peer dependency, like `openvino-node`). */
export function importOnnxRuntime(): Promise<OnnxRuntimeModule> {
  cached ??= load();
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

async function load(): Promise<OnnxRuntimeModule> {
  let module: OnnxRuntimeModule & { default?: OnnxRuntimeModule };
  try {
    module = (await import('onnxruntime-node')) as typeof module;
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const reason =
      code === 'ERR_MODULE_NOT_FOUND' && /onnxruntime-node/.test(String(message))
        ? 'the package is not installed'
        : (String(message ?? error).split('\n')[0] ?? 'unknown error');
    throw new OnnxRuntimeUnavailableError(reason, { cause: error });
  }
  const runtime = typeof module.InferenceSession === 'function' ? module : module.default;
  if (runtime === undefined || typeof runtime.InferenceSession !== 'function') {
    throw new OnnxRuntimeUnavailableError('the package does not export InferenceSession');
  }
  return runtime;
}
