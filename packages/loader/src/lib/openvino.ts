import { OpenVinoUnavailableError } from '../errors.js';

/**
 * The part of an OpenVINO binding the loader uses, as a structural type: `openvino-node`'s `addon`
 * and `@ovseal/openvino-c`'s runtime both fit it, and a consumer's types do not depend on either
 * package being installed.
 */
export interface OpenVinoAddon {
  readonly Core: new () => OpenVinoCore;
  /** `new Tensor(type, shape, data?)`: `type` is an element type name (`f32`, `u8`, `i64`, …); `data` is wrapped, not copied. */
  readonly Tensor: new (type: OpenVinoElementType, shape: number[], data?: ArrayBufferView) => OpenVinoTensor;
}

/** Element type names both bindings accept. */
export type OpenVinoElementType = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64' | 'f32' | 'f64';

/** `ov.Core`: the calls the loader makes. */
export interface OpenVinoCore {
  /** `readModel(xmlText, weightsTensor)` for an IR, `readModel(bytes)` for ONNX (the binding's own Tensor class). */
  readModel(model: string | Uint8Array, weights?: OpenVinoTensor | Uint8Array | string): Promise<OpenVinoModel>;
  compileModel(model: OpenVinoModel | string, device: string, config?: Record<string, string>): Promise<OpenVinoCompiledModel>;
  importModel(blob: Buffer, device: string, config?: Record<string, string>): Promise<OpenVinoCompiledModel>;
  getVersions(device: string): Record<string, { buildNumber: string; description: string }>;
  getProperty?(name: string): unknown;
}

/** `ov.Model`, as `core.readModel` returns it. */
export interface OpenVinoModel {
  readonly inputs: readonly OpenVinoPort[];
  readonly outputs: readonly OpenVinoPort[];
  /** `@ovseal/openvino-c` only: frees the native model now. */
  dispose?(): void;
}

/** `ov.CompiledModel`. */
export interface OpenVinoCompiledModel {
  readonly inputs: readonly OpenVinoPort[];
  readonly outputs: readonly OpenVinoPort[];
  createInferRequest(): OpenVinoInferRequest;
  exportModelSync(): Uint8Array;
  /** `@ovseal/openvino-c` only: frees the native compiled model now. */
  dispose?(): void;
}

/** An input or output (`ov.Output`). */
export interface OpenVinoPort {
  getAnyName(): string;
  getShape(): number[];
}

/** `ov.InferRequest`. */
export interface OpenVinoInferRequest {
  /** Inputs by tensor name or in order: the binding's Tensors, or typed arrays in the input's shape. */
  infer(inputs?: OpenVinoInputs): Record<string, OpenVinoTensor>;
  inferAsync(inputs?: OpenVinoInputs): Promise<Record<string, OpenVinoTensor>>;
  getOutputTensor(index?: number): OpenVinoTensor;
  /** `@ovseal/openvino-c` only. */
  dispose?(): void;
}

/** Inference inputs. */
export type OpenVinoInputs = Readonly<Record<string, OpenVinoTensor | ArrayBufferView>> | readonly (OpenVinoTensor | ArrayBufferView)[];

/** `ov.Tensor`. */
export interface OpenVinoTensor {
  getShape(): number[];
  getData(): ArrayLike<number | bigint> & ArrayBufferView;
  readonly data: ArrayLike<number | bigint> & ArrayBufferView;
}

/** Which binding serves OpenVINO: `openvino-node` (OpenVINO's npm addon) or `@ovseal/openvino-c` (its C API). */
export type OpenVinoBindingName = 'openvino-node' | 'openvino-c';

/** A binding that loaded, and its runtime version. */
export interface OpenVinoBinding {
  readonly name: OpenVinoBindingName;
  readonly addon: OpenVinoAddon;
  /** OpenVINO's build number where the binding reports it (`2026.4.1-…`). */
  readonly version: string | undefined;
}

/** `auto`: openvino-node when its native part loads, else @ovseal/openvino-c. */
export type OpenVinoBindingChoice = 'auto' | OpenVinoBindingName;

const cache = new Map<OpenVinoBindingName, Promise<OpenVinoBinding>>();

/**
 * Loads an OpenVINO binding on first use. Both are optional peer dependencies: a process that only
 * uses ONNX Runtime loads neither. A failed load is not cached (the runtime may be installed while
 * the process runs).
 */
export async function importOpenVino(choice: OpenVinoBindingChoice = 'auto'): Promise<OpenVinoBinding> {
  if (choice !== 'auto') return load(choice);
  const failures: string[] = [];
  for (const name of ['openvino-node', 'openvino-c'] as const) {
    try {
      return await load(name);
    } catch (error) {
      failures.push((error as { reason?: string }).reason ?? String(error));
    }
  }
  throw new OpenVinoUnavailableError(failures.join('; '));
}

function load(name: OpenVinoBindingName): Promise<OpenVinoBinding> {
  let entry = cache.get(name);
  if (entry === undefined) {
    entry = name === 'openvino-node' ? loadOpenVinoNode() : loadOpenVinoC();
    cache.set(name, entry);
    entry.catch(() => cache.delete(name));
  }
  return entry;
}

async function loadOpenVinoNode(): Promise<OpenVinoBinding> {
  let module: { addon?: OpenVinoAddon; default?: { addon?: OpenVinoAddon } };
  try {
    module = await import('openvino-node');
  } catch (error) {
    throw new OpenVinoUnavailableError(`openvino-node: ${describeImportFailure(error, 'openvino-node')}`, { cause: error });
  }
  const addon = module.addon ?? module.default?.addon;
  if (addon === undefined || typeof addon.Core !== 'function') {
    throw new OpenVinoUnavailableError('openvino-node: the package does not export an `addon` with a Core class');
  }
  return { name: 'openvino-node', addon, version: undefined };
}

async function loadOpenVinoC(): Promise<OpenVinoBinding> {
  let module: { loadOpenVinoC(): Promise<OpenVinoAddon & { version: string }> };
  try {
    module = await import('@ovseal/openvino-c');
  } catch (error) {
    throw new OpenVinoUnavailableError(`@ovseal/openvino-c: ${describeImportFailure(error, '@ovseal/openvino-c')}`, { cause: error });
  }
  try {
    const runtime = await module.loadOpenVinoC();
    return { name: 'openvino-c', addon: runtime, version: runtime.version };
  } catch (error) {
    const message = String((error as Error).message ?? error).replace(/^the OpenVINO runtime cannot be loaded: /, '');
    throw new OpenVinoUnavailableError(`@ovseal/openvino-c: ${message}`, { cause: error });
  }
}

function describeImportFailure(error: unknown, name: string): string {
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error);
  if (/ov_node_addon\.node/.test(text)) {
    return 'installed without its native runtime (bin/ov_node_addon.node is missing)';
  }
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && text.includes(name)) {
    return 'not installed';
  }
  // A package that is present but does not load (a missing shared library, a wrong platform).
  return text.split('\n')[0] ?? 'unknown error';
}
