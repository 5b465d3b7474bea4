export { openModel } from './open-model.js';
export { loadOpenVino } from './load-openvino.js';
export type { LoadOpenVinoOptions, LoadedOpenVinoModel } from './load-openvino.js';
export { CompiledModelCache } from './compiled-model-cache.js';
export type {
  CompiledModelCacheKey,
  CompiledModelCacheEvent,
  CompiledModelCacheOptions,
  CachedCompiledModel,
} from './compiled-model-cache.js';
export { JsonFileRollbackStore } from './json-file-rollback-store.js';
export { compareVersions } from './compare-versions.js';
export {
  OpenVinoUnavailableError,
  OnnxRuntimeUnavailableError,
  UnsafeConfigError,
  UnsupportedModelError,
  ExternalDataError,
  RollbackError,
} from './errors.js';
export type { LoaderErrorCode } from './errors.js';
export type { ModelSource, HttpOptions, RollbackStore, OpenModelOptions, ModelEntry, OpenedModel } from './types.js';
export type {
  OpenVinoAddon,
  OpenVinoCore,
  OpenVinoModel,
  OpenVinoCompiledModel,
  OpenVinoInferRequest,
  OpenVinoPort,
  OpenVinoTensor,
  OpenVinoBindingName,
  OpenVinoBindingChoice,
  OpenVinoElementType,
  OpenVinoInputs,
} from './lib/openvino.js';
