import { loadOpenVino, type LoadedOpenVinoModel, type OpenVinoElementType, type OpenVinoTensor } from '@ovseal/loader';
import { loadOnnxRuntime } from '@ovseal/loader/onnxruntime';
import type { Identity, TrustPolicy } from '@ovseal/container';
import type { RollbackStore } from '@ovseal/loader';
import type { Tensor, TensorData, TensorType } from './tensor-json.js';
import { typeOfArray } from './tensor-json.js';

/** A model decrypted in memory and loaded into a runtime. */
export interface RunningModel {
  readonly runtime: 'onnxruntime' | 'openvino';
  /** The runtime and binding behind the answers, e.g. `OpenVINO 2026.4.1 (@ovseal/openvino-c)`, `ONNX Runtime 1.30.0`. */
  readonly engine: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  dispose(): Promise<void>;
}

export interface LoadModelOptions {
  readonly identities: readonly Identity[];
  readonly trust: TrustPolicy | undefined;
  readonly rollback: RollbackStore | undefined;
  readonly runtime: 'auto' | 'onnxruntime' | 'openvino';
}

type OrtModule = typeof import('onnxruntime-node');
let ort: Promise<OrtModule> | undefined;
let openVinoMissing = false;

async function loadWithOnnxRuntime(path: string, options: LoadModelOptions): Promise<RunningModel> {
  const module = await (ort ??= import('onnxruntime-node'));
  const loaded = await loadOnnxRuntime(path, {
    identities: options.identities,
    trust: options.trust,
    rollback: options.rollback,
    sessionOptions: { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
  const { session } = loaded;
  return {
    runtime: 'onnxruntime',
    engine: `ONNX Runtime ${(module as { env?: { versions?: { common?: string } } }).env?.versions?.common ?? ''}`.trim(),
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(inputs) {
      const feeds: Record<string, InstanceType<OrtModule['Tensor']>> = {};
      for (const [name, tensor] of Object.entries(inputs))
        feeds[name] = new module.Tensor(tensor.type, tensor.data as Float32Array, [...tensor.dims]);
      const results = await session.run(feeds);
      const outputs: Record<string, Tensor> = {};
      for (const [name, value] of Object.entries(results)) {
        outputs[name] = { type: value.type as TensorType, dims: [...value.dims], data: value.data as TensorData };
      }
      return outputs;
    },
    dispose: () => loaded.dispose(),
  };
}

async function loadWithOpenVino(path: string, options: LoadModelOptions): Promise<RunningModel> {
  const loaded: LoadedOpenVinoModel = await loadOpenVino(path, {
    identities: options.identities,
    trust: options.trust,
    rollback: options.rollback,
    // Full precision: the same answers as ONNX Runtime and as the plain model (some CPUs default to bf16).
    config: { INFERENCE_PRECISION_HINT: 'f32' },
  });
  const ov = loaded.openvino;
  const compiled = loaded.compiledModel;
  const { name, version } = loaded.binding;
  return {
    runtime: 'openvino',
    engine: `OpenVINO ${version?.split('-')[0] ?? ''} (${name === 'openvino-c' ? '@ovseal/openvino-c' : name})`.replace('  ', ' '),
    inputNames: compiled.inputs.map((input) => input.getAnyName()),
    outputNames: compiled.outputs.map((output) => output.getAnyName()),
    async run(inputs) {
      const request = compiled.createInferRequest();
      try {
        const feeds: Record<string, OpenVinoTensor> = {};
        for (const [name, tensor] of Object.entries(inputs))
          feeds[name] = new ov.Tensor(OPENVINO_TYPES[tensor.type], [...tensor.dims], tensor.data);
        const results = await request.inferAsync(feeds);
        const outputs: Record<string, Tensor> = {};
        for (const [name, value] of Object.entries(results)) {
          const data = value.data as unknown as TensorData;
          outputs[name] = { type: typeOfArray(data) ?? 'float32', dims: value.getShape(), data: data.slice() };
        }
        return outputs;
      } finally {
        request.dispose?.();
      }
    },
    async dispose() {
      loaded.dispose();
    },
  };
}

/** The JSON API's element types as OpenVINO names them. */
const OPENVINO_TYPES: Record<TensorType, OpenVinoElementType> = {
  float32: 'f32',
  float64: 'f64',
  int8: 'i8',
  uint8: 'u8',
  int32: 'i32',
  int64: 'i64',
};

/**
 * Decrypts the sealed model in memory (through `@ovseal/loader`) and loads it: OpenVINO where its
 * runtime is present (`auto`, `openvino`), else ONNX Runtime. Nothing decrypted touches the disk.
 */
export async function loadSealedModel(path: string, options: LoadModelOptions): Promise<RunningModel> {
  if (options.runtime === 'onnxruntime' || (options.runtime === 'auto' && openVinoMissing)) return loadWithOnnxRuntime(path, options);
  try {
    return await loadWithOpenVino(path, options);
  } catch (error) {
    // The loader fails on a missing runtime before any key is unwrapped; fall back only then.
    if (options.runtime === 'auto' && (error as { code?: string }).code === 'ERR_OPENVINO_UNAVAILABLE') {
      openVinoMissing = true;
      return loadWithOnnxRuntime(path, options);
    }
    throw error;
  }
}
