/**
 * `@ovseal/loader/onnxruntime`: loading into ONNX Runtime. Its types come from `onnxruntime-node`
 * (an optional peer dependency), so they live on this subpath: a consumer that runs only OpenVINO
 * imports `@ovseal/loader` and needs no onnxruntime-node types.
 */
export { loadOnnxRuntime } from './load-onnx-runtime.js';
export type { LoadOnnxRuntimeOptions, LoadedOnnxRuntimeSession } from './load-onnx-runtime.js';
