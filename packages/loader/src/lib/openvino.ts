import type { addon } from 'openvino-node';
import { OpenVinoUnavailableError } from '../errors.js';

/** The `openvino-node` addon object (`require('openvino-node').addon`), typed by its own `.d.ts`. */
export type OpenVinoAddon = typeof addon;
/** `ov.Core`. */
export type OpenVinoCore = InstanceType<OpenVinoAddon['Core']>;
/** `ov.Model`, as returned by `core.readModel`. */
export type OpenVinoModel = Awaited<ReturnType<OpenVinoCore['readModel']>>;
/** `ov.CompiledModel`, as returned by `core.compileModel` and `core.importModel`. */
export type OpenVinoCompiledModel = Awaited<ReturnType<OpenVinoCore['importModel']>>;
/** `ov.Tensor`. */
export type OpenVinoTensor = InstanceType<OpenVinoAddon['Tensor']>;

let cached: Promise<OpenVinoAddon> | undefined;

/**
 * Imports `openvino-node` on first use. It is an optional peer dependency: a process that only uses
 * ONNX Runtime never loads it, and one without its native runtime gets a typed error with a hint.
 */
export function importOpenVino(): Promise<OpenVinoAddon> {
  cached ??= load();
  // A failed import is not cached: the runtime may be installed while the process runs.
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}

async function load(): Promise<OpenVinoAddon> {
  let module: { addon?: OpenVinoAddon; default?: { addon?: OpenVinoAddon } };
  try {
    module = (await import('openvino-node')) as typeof module;
  } catch (error) {
    throw new OpenVinoUnavailableError(describeImportFailure(error), { cause: error });
  }
  const ov = module.addon ?? module.default?.addon;
  if (ov === undefined || typeof ov.Core !== 'function') {
    throw new OpenVinoUnavailableError('the package does not export an `addon` with a Core class');
  }
  return ov;
}

function describeImportFailure(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error);
  if (/ov_node_addon\.node/.test(text)) {
    return 'the package is installed without its native runtime (bin/ov_node_addon.node is missing)';
  }
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /openvino-node/.test(text)) {
    return 'the package is not installed';
  }
  // A runtime that is present but does not load (a missing shared library, a wrong platform).
  return text.split('\n')[0] ?? 'unknown error';
}
