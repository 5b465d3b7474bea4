/**
 * Errors thrown by `@ovseal/loader`. Container errors (`ERR_EXPIRED`, `ERR_SIGNATURE_*`,
 * `ERR_AUTHENTICATION_FAILED`, …) come from `@ovseal/container` unchanged.
 */
import { OvsealError } from '@ovseal/container';

/** Codes of the errors this package adds to those of `@ovseal/container`. */
export type LoaderErrorCode =
  | 'ERR_OPENVINO_UNAVAILABLE'
  | 'ERR_ONNXRUNTIME_UNAVAILABLE'
  | 'ERR_UNSAFE_CONFIG'
  | 'ERR_UNSUPPORTED_MODEL'
  | 'ERR_EXTERNAL_DATA'
  | 'ERR_ROLLBACK';

/** A model version older than one this device already loaded (rollback protection, `RollbackStore`). */
export class RollbackError extends OvsealError {
  declare readonly code: 'ERR_ROLLBACK';
  constructor(model: string, version: string, highest: string) {
    super('ERR_ROLLBACK', `refusing ${model} version ${version}: version ${highest} was already seen`);
  }
}

/**
 * No OpenVINO binding loads: neither `openvino-node` with its native runtime, nor
 * `@ovseal/openvino-c` with an installed OpenVINO runtime (`libopenvino_c`).
 */
export class OpenVinoUnavailableError extends OvsealError {
  declare readonly code: 'ERR_OPENVINO_UNAVAILABLE';
  /** What went wrong with each binding that was tried. */
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ERR_OPENVINO_UNAVAILABLE', `OpenVINO cannot be loaded: ${reason}`, {
      cause: options?.cause,
      hint:
        "install @ovseal/openvino-c and the OpenVINO runtime, which needs no download from OpenVINO's own " +
        'hosts: `python3 -m pip install openvino` (the wheel holds libopenvino_c), a distribution package or an ' +
        'archive; set OVSEAL_OPENVINO_LIB to the folder holding libopenvino_c if it is not found by itself. ' +
        'Or install openvino-node with its native runtime (its install script downloads it from ' +
        'storage.openvinotoolkit.org)',
    });
    this.reason = reason;
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

/**
 * An ONNX model refers to external data the container does not hold (or in a way the loader
 * cannot hand to the runtime from memory). The runtime would otherwise read an unsealed file from
 * disk, so the load is refused before it sees the model.
 */
export class ExternalDataError extends OvsealError {
  declare readonly code: 'ERR_EXTERNAL_DATA';
  constructor(message: string, hint?: string) {
    super('ERR_EXTERNAL_DATA', message, hint === undefined ? undefined : { hint });
  }
}
