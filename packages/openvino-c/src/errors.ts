/**
 * Errors thrown by `@ovseal/openvino-c`. Each has a stable `code`; messages may change. The shape
 * (`code`, optional `hint`) is that of every ovseal error, so the CLI and apps print them alike.
 */

/** Codes of the errors this package throws. */
export type OpenVinoCErrorCode = 'ERR_OPENVINO_UNAVAILABLE' | 'ERR_OPENVINO' | 'ERR_OPENVINO_DISPOSED' | 'ERR_INVALID_ARGUMENT';

/** Base class of this package's errors. */
export class OpenVinoCError extends Error {
  readonly code: OpenVinoCErrorCode;
  /** A suggestion for the user, where one exists. */
  declare readonly hint?: string;

  constructor(code: OpenVinoCErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options?.hint !== undefined) this.hint = options.hint;
  }
}

/** The pip-installable runtime this package is tested with (the CI installs exactly this version). */
export const TESTED_OPENVINO_VERSION = '2026.4.1';

const INSTALL_HINT =
  `install the OpenVINO runtime, e.g. \`python3 -m pip install openvino==${TESTED_OPENVINO_VERSION}\` ` +
  '(its wheel holds libopenvino_c), a distribution package, or an archive from the OpenVINO releases; then ' +
  'set OVSEAL_OPENVINO_LIB to the folder that holds libopenvino_c (or to the library itself)';

/** No usable `libopenvino_c` was found, or the one found is not OpenVINO or too old. */
export class OpenVinoUnavailableError extends OpenVinoCError {
  declare readonly code: 'ERR_OPENVINO_UNAVAILABLE';
  /** The places that were looked at, in order, with what was wrong with each. */
  readonly tried: readonly string[];

  constructor(reason: string, options?: { cause?: unknown; tried?: readonly string[] }) {
    super('ERR_OPENVINO_UNAVAILABLE', `the OpenVINO runtime cannot be loaded: ${reason}`, {
      cause: options?.cause,
      hint: INSTALL_HINT,
    });
    this.tried = options?.tried ?? [];
  }
}

/**
 * An OpenVINO call failed: an unreadable model, weights that do not match the IR, an unknown device,
 * a blob from another runtime. `status` is OpenVINO's `ov_status_e` name; the message carries the
 * runtime's own text.
 */
export class OpenVinoError extends OpenVinoCError {
  declare readonly code: 'ERR_OPENVINO';
  /** The C function that failed, e.g. `ov_core_compile_model`. */
  readonly operation: string;
  /** `ov_status_e` as a name (`GENERAL_ERROR`, `NOT_FOUND`, …). */
  readonly status: string;
  /** The runtime's message, as OpenVINO wrote it. */
  readonly detail: string;

  constructor(operation: string, status: string, detail: string) {
    super('ERR_OPENVINO', `${operation} failed (${status})${detail ? `: ${summarize(detail)}` : ''}`);
    this.operation = operation;
    this.status = status;
    this.detail = detail;
  }
}

/** A model, tensor, request or core was used after `dispose()`. */
export class OpenVinoDisposedError extends OpenVinoCError {
  declare readonly code: 'ERR_OPENVINO_DISPOSED';
  constructor(what: string) {
    super('ERR_OPENVINO_DISPOSED', `this ${what} was disposed`);
  }
}

/** A call got arguments it cannot use (a wrong element type, a size that does not match a shape). */
export class OpenVinoArgumentError extends OpenVinoCError {
  declare readonly code: 'ERR_INVALID_ARGUMENT';
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

/**
 * OpenVINO's messages start with a chain of "Exception from src/…:123:" lines: keep the lines that
 * say what went wrong.
 */
function summarize(detail: string): string {
  const lines = detail
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^Exception from .*:\d+:$/.test(line));
  return lines.join(' ') || detail.trim();
}
