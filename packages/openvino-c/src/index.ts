export { loadOpenVinoC } from './load-openvino-c.js';
export type { OpenVinoC } from './load-openvino-c.js';
export { findOpenVinoLibrary } from './find-openvino-library.js';
export type { FindOpenVinoLibraryOptions, OpenVinoLibraryLocation } from './find-openvino-library.js';
export { Core } from './core.js';
export type { Properties, PluginVersion } from './core.js';
export { Model } from './model.js';
export { CompiledModel } from './compiled-model.js';
export { InferRequest } from './infer-request.js';
export type { InferInputs } from './infer-request.js';
export { Tensor } from './tensor.js';
export { Output } from './output.js';
export type { Dimension, PartialShape } from './output.js';
export { element } from './lib/element-types.js';
export type { ElementTypeName, TensorArray } from './lib/element-types.js';
export {
  OpenVinoCError,
  OpenVinoUnavailableError,
  OpenVinoError,
  OpenVinoDisposedError,
  OpenVinoArgumentError,
  TESTED_OPENVINO_VERSION,
} from './errors.js';
export type { OpenVinoCErrorCode } from './errors.js';
