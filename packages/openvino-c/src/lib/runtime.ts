import koffi, { type LibraryHandle } from 'koffi';
import { OpenVinoError, OpenVinoUnavailableError } from '../errors.js';
import { PROBE_F64 } from './element-types.js';
import { bindOpenVinoC, type NativeFunction, type NativeShape, type OpenVinoCFunctions, type Out, type Pointer } from './bindings.js';

const STATUS_NAMES: Record<number, string> = {
  [-1]: 'GENERAL_ERROR',
  [-2]: 'NOT_IMPLEMENTED',
  [-3]: 'NETWORK_NOT_LOADED',
  [-4]: 'PARAMETER_MISMATCH',
  [-5]: 'NOT_FOUND',
  [-6]: 'OUT_OF_BOUNDS',
  [-7]: 'UNEXPECTED',
  [-8]: 'REQUEST_BUSY',
  [-9]: 'RESULT_NOT_READY',
  [-10]: 'NOT_ALLOCATED',
  [-11]: 'INFER_NOT_STARTED',
  [-12]: 'NETWORK_NOT_READ',
  [-13]: 'INFER_CANCELLED',
  [-14]: 'INVALID_C_PARAM',
  [-15]: 'UNKNOWN_C_ERROR',
  [-16]: 'NOT_IMPLEMENT_C_METHOD',
  [-17]: 'UNKNOW_EXCEPTION',
};

/** The oldest release whose C API has everything used here (`ov_core_read_model_from_memory_buffer`). */
const MIN_YEAR = 2023;

/** One loaded `libopenvino_c`: its functions and the helpers every wrapper class uses. */
export class Runtime {
  readonly fns: OpenVinoCFunctions;
  readonly libraryPath: string;
  /** `ov_get_openvino_version().buildNumber`, e.g. `2026.4.1-22982-e213a147257-releases/2026/4`. */
  readonly buildNumber: string;
  /** Added to this package's `ov_element_type_e` values for this library (see the constructor). */
  readonly elementOffset: 0 | 1;

  constructor(libraryPath: string) {
    let lib: LibraryHandle;
    try {
      lib = koffi.load(libraryPath);
    } catch (error) {
      throw new OpenVinoUnavailableError(`${libraryPath} does not load: ${firstLine(error)}`, { cause: error });
    }
    try {
      this.fns = bindOpenVinoC(lib);
    } catch (error) {
      // A missing symbol: not OpenVINO's C library, or a release older than this package supports.
      throw new OpenVinoUnavailableError(`${libraryPath} is not a supported OpenVINO C library (${firstLine(error)})`, {
        cause: error,
      });
    }
    this.libraryPath = libraryPath;
    const version: { buildNumber?: string } = {};
    this.check(this.fns.ov_get_openvino_version(version), 'ov_get_openvino_version');
    this.buildNumber = version.buildNumber ?? '';
    const year = Number(/^(\d{4})\./.exec(this.buildNumber)?.[1]);
    if (!(year >= MIN_YEAR)) {
      throw new OpenVinoUnavailableError(
        `${libraryPath} is OpenVINO ${this.buildNumber || '(no version)'}; ${MIN_YEAR}.0 or newer is needed`,
      );
    }
    this.elementOffset = this.#measureElementOffset(libraryPath);
  }

  /**
   * How `ov_element_type_e` is numbered in this library: 0 in current releases, 1 in those (up to
   * 2025) that still had `UNDEFINED = 0`. The ABI changed without a version bump of the C API, so
   * it is measured, not guessed from the version: a one-element tensor of code 5 is f64 (8 bytes)
   * in the current numbering and f32 (4 bytes) in the old one.
   */
  #measureElementOffset(libraryPath: string): 0 | 1 {
    const tensor = this.withShape([1], (shape) => this.out(this.fns.ov_tensor_create, 'ov_tensor_create', PROBE_F64.native, shape));
    try {
      const size: [number | bigint] = [0];
      this.check(this.fns.ov_tensor_get_byte_size(tensor, size), 'ov_tensor_get_byte_size');
      if (Number(size[0]) === PROBE_F64.currentBytes) return 0;
      if (Number(size[0]) === PROBE_F64.shiftedBytes) return 1;
      throw new OpenVinoUnavailableError(`${libraryPath} numbers its element types in a way this package does not know`);
    } finally {
      this.fns.ov_tensor_free(tensor);
    }
  }

  /** Throws `OpenVinoError` with the runtime's message when `status` is not OK. */
  check(status: number, operation: string): void {
    if (status === 0) return;
    throw new OpenVinoError(operation, STATUS_NAMES[status] ?? `status ${status}`, this.fns.ov_get_last_err_msg() ?? '');
  }

  /**
   * Runs a status-returning function on one of koffi's worker threads, so a compile or a large read
   * does not stall the event loop, and resolves with its output handle.
   */
  callAsync<Args extends unknown[]>(
    fn: NativeFunction<[...Args, Out<Pointer>], number>,
    operation: string,
    ...args: Args
  ): Promise<Pointer> {
    const out: Out<Pointer> = [null];
    return new Promise((resolve, reject) => {
      fn.async(...args, out, (error: unknown, status: number) => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- koffi's error, passed on
        if (error) return reject(error);
        try {
          this.check(status, operation);
          resolve(out[0]!);
        } catch (failure) {
          reject(failure);
        }
      });
    });
  }

  /** Calls a function with a trailing `T**` output and returns the handle. */
  out<Args extends unknown[]>(fn: NativeFunction<[...Args, Out<Pointer>], number>, operation: string, ...args: Args): Pointer {
    const out: Out<Pointer> = [null];
    this.check(fn(...args, out), operation);
    return out[0]!;
  }

  /** Reads a C string OpenVINO allocated for the caller, then frees it with `ov_free`. */
  takeString(pointer: Pointer | null): string {
    if (pointer === null || pointer === 0n) return '';
    try {
      return koffi.decode(pointer, 'char', -1) as string;
    } finally {
      this.fns.ov_free(pointer);
    }
  }

  /** Creates an `ov_shape_t` for the duration of `use`, then frees it. */
  withShape<T>(dims: readonly number[], use: (shape: NativeShape) => T): T {
    // ov_shape_create refuses rank 0; a scalar's shape owns no memory.
    if (dims.length === 0) return use({ rank: 0, dims: null });
    const shape = {} as NativeShape;
    this.check(this.fns.ov_shape_create(dims.length, dims.map(BigInt), shape), 'ov_shape_create');
    try {
      return use(shape);
    } finally {
      this.fns.ov_shape_free(shape);
    }
  }

  /** Reads an `ov_shape_t` filled by OpenVINO, then frees it. */
  takeShape(shape: NativeShape): number[] {
    try {
      const rank = Number(shape.rank);
      if (rank === 0 || shape.dims === null) return [];
      return Array.from(koffi.decode(shape.dims, 'int64_t', rank) as ArrayLike<number | bigint>, Number);
    } finally {
      this.fns.ov_shape_free(shape);
    }
  }
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0] ?? 'unknown error';
}
