/**
 * Errors thrown by `@ovseal/loader`. Container errors (`ERR_EXPIRED`, `ERR_SIGNATURE_*`,
 * `ERR_ROLLBACK`, `ERR_AUTHENTICATION_FAILED`, …) come from `@ovseal/container` unchanged.
 */
import { OvsealError } from '@ovseal/container';

/** Codes of the errors this package adds to those of `@ovseal/container`. */
export type LoaderErrorCode =
  | 'ERR_OPENVINO_UNAVAILABLE'
  | 'ERR_ONNXRUNTIME_UNAVAILABLE'
  | 'ERR_UNSAFE_CONFIG'
  | 'ERR_UNSUPPORTED_MODEL';

/** `openvino-node` or its native runtime cannot be loaded. */
export class OpenVinoUnavailableError extends OvsealError {
  declare readonly code: 'ERR_OPENVINO_UNAVAILABLE';
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ERR_OPENVINO_UNAVAILABLE', `openvino-node cannot be loaded: ${reason}`, {
      cause: options?.cause,
      hint:
        'install openvino-node with its native runtime: `npm install openvino-node@2024.3.0` runs its install ' +
        'script, which downloads the runtime from storage.openvinotoolkit.org (with pnpm, allow its build ' +
        'script, or run `node node_modules/openvino-node/scripts/download_runtime.js` once)',
    });
  }
}

/** `onnxruntime-node` cannot be loaded. */
export class OnnxRuntimeUnavailableError extends OvsealError {
  declare readonly code: 'ERR_ONNXRUNTIME_UNAVAILABLE';
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ERR_ONNXRUNTIME_UNAVAILABLE', `onnxruntime-node cannot be loaded: ${reason}`, {
      cause: options?.cause,
      hint: 'install it next to @ovseal/loader: `npm install onnxruntime-node` (its CPU binaries ship in the package)',
    });
  }
}

/**
 * A runtime setting would write the decrypted or compiled model to disk in clear (OpenVINO's
 * `CACHE_DIR`, ONNX Runtime's `optimizedModelFilePath`).
 */
export class UnsafeConfigError extends OvsealError {
  declare readonly code: 'ERR_UNSAFE_CONFIG';
  /** The refused setting. */
  readonly setting: string;
  constructor(setting: string, why: string, hint: string) {
    super('ERR_UNSAFE_CONFIG', `refusing ${setting}: ${why}`, { hint });
    this.setting = setting;
  }
}

/** The container does not hold a model this runtime can load (missing or conflicting entries). */
export class UnsupportedModelError extends OvsealError {
  declare readonly code: 'ERR_UNSUPPORTED_MODEL';
  constructor(message: string) {
    super('ERR_UNSUPPORTED_MODEL', message);
  }
}
