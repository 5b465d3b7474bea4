import koffi, { type LibraryHandle, type TypeObject } from 'koffi';

/** An opaque native handle (`ov_core_t*`, `ov_model_t*`, …): koffi 3 represents pointers as BigInt. */
export type Pointer = bigint;
/** A one-element array koffi fills for a `T**` output parameter. */
export type Out<T> = [T | null];

/** A koffi function with its `.async` form (runs on one of koffi's worker threads). */
export interface NativeFunction<Args extends unknown[], R> {
  (...args: Args): R;
  async(...args: [...Args, (error: unknown, result: R) => void]): void;
}

/** `ov_shape_t`, as koffi decodes it. */
export interface NativeShape {
  rank: bigint | number;
  dims: Pointer | null;
}

/** Koffi types shared by every library instance; declared once per process (koffi names are global). */
const types = (() => {
  const version = struct('ovseal_ov_version_t', { buildNumber: 'const char *', description: 'const char *' });
  const shape = struct('ovseal_ov_shape_t', { rank: 'int64_t', dims: 'void *' });
  const dimension = struct('ovseal_ov_dimension_t', { min: 'int64_t', max: 'int64_t' });
  const partialShape = struct('ovseal_ov_partial_shape_t', { rank: dimension, dims: 'void *' });
  const property = struct('ovseal_ov_property_t', { key: 'const char *', value: 'const void *' });
  const coreVersion = struct('ovseal_ov_core_version_t', { device_name: 'const char *', version });
  const versionList = struct('ovseal_ov_core_version_list_t', { versions: 'void *', size: 'size_t' });
  const devices = struct('ovseal_ov_available_devices_t', { devices: 'void *', size: 'size_t' });
  return { version, shape, dimension, partialShape, property, coreVersion, versionList, devices };
})();

/**
 * A named koffi struct. Koffi's type names are process-wide: a second copy of this package in the
 * same process (two versions in node_modules) reuses the first one's identical declaration.
 */
function struct(name: string, members: Record<string, string | TypeObject>): TypeObject {
  try {
    return koffi.type(name);
  } catch {
    return koffi.struct(name, members);
  }
}
export const nativeTypes = types;

/**
 * The C API functions this package calls, bound to one `libopenvino_c`. Status-returning functions
 * return `ov_status_e` (0 is OK). Strings that OpenVINO allocates are read as pointers and freed
 * with `ov_free`; model text and weights are passed as addresses of memory the caller keeps alive.
 */
export function bindOpenVinoC(lib: LibraryHandle) {
  const fn = (prototype: string): unknown => lib.func(prototype);
  const optional = (prototype: string) => {
    try {
      return fn(prototype);
    } catch {
      return undefined; // an older runtime without this symbol
    }
  };
  const s = types;
  const bound = {
    ov_get_openvino_version: fn(`int ov_get_openvino_version(_Out_ ${s.version.name} *version)`),
    ov_get_last_err_msg: fn('const char *ov_get_last_err_msg()'),
    ov_get_error_info: fn('const char *ov_get_error_info(int status)'),
    ov_free: fn('void ov_free(void *content)'),

    ov_core_create: fn('int ov_core_create(_Out_ void **core)'),
    ov_core_free: fn('void ov_core_free(void *core)'),
    ov_core_read_model: fn('int ov_core_read_model(void *core, const char *model_path, const char *bin_path, _Out_ void **model)'),
    ov_core_read_model_from_memory_buffer: fn(
      'int ov_core_read_model_from_memory_buffer(void *core, void *model_str, size_t str_len, void *weights, _Out_ void **model)',
    ),
    ov_core_compile_model_props: optional(
      `int ov_core_compile_model_props(void *core, void *model, const char *device, size_t n, ${s.property.name} *props, _Out_ void **compiled)`,
    ),
    // Variadic: runtimes older than the `_props` functions. Variadic calls cannot run on a worker thread.
    ov_core_compile_model: fn(
      'int ov_core_compile_model(void *core, void *model, const char *device, size_t n, _Out_ void **compiled, ...)',
    ),
    ov_core_import_model: fn('int ov_core_import_model(void *core, void *content, size_t size, const char *device, _Out_ void **compiled)'),
    ov_core_set_properties: optional(`int ov_core_set_properties(void *core, const char *device, size_t n, ${s.property.name} *props)`),
    ov_core_set_property: fn('int ov_core_set_property(void *core, const char *device, ...)'),
    ov_core_get_property: fn('int ov_core_get_property(void *core, const char *device, const char *key, _Out_ void **value)'),
    ov_core_get_available_devices: fn(`int ov_core_get_available_devices(void *core, _Out_ ${s.devices.name} *devices)`),
    ov_available_devices_free: fn(`void ov_available_devices_free(${s.devices.name} *devices)`),
    ov_core_get_versions_by_device_name: fn(
      `int ov_core_get_versions_by_device_name(void *core, const char *device, _Out_ ${s.versionList.name} *versions)`,
    ),
    ov_core_versions_free: fn(`void ov_core_versions_free(${s.versionList.name} *versions)`),

    ov_model_free: fn('void ov_model_free(void *model)'),
    ov_model_inputs_size: fn('int ov_model_inputs_size(void *model, _Out_ size_t *size)'),
    ov_model_outputs_size: fn('int ov_model_outputs_size(void *model, _Out_ size_t *size)'),
    ov_model_const_input_by_index: fn('int ov_model_const_input_by_index(void *model, size_t index, _Out_ void **port)'),
    ov_model_const_output_by_index: fn('int ov_model_const_output_by_index(void *model, size_t index, _Out_ void **port)'),
    ov_model_get_friendly_name: fn('int ov_model_get_friendly_name(void *model, _Out_ void **name)'),
    ov_model_is_dynamic: fn('bool ov_model_is_dynamic(void *model)'),

    ov_compiled_model_inputs_size: fn('int ov_compiled_model_inputs_size(void *compiled, _Out_ size_t *size)'),
    ov_compiled_model_outputs_size: fn('int ov_compiled_model_outputs_size(void *compiled, _Out_ size_t *size)'),
    ov_compiled_model_input_by_index: fn('int ov_compiled_model_input_by_index(void *compiled, size_t index, _Out_ void **port)'),
    ov_compiled_model_output_by_index: fn('int ov_compiled_model_output_by_index(void *compiled, size_t index, _Out_ void **port)'),
    ov_compiled_model_create_infer_request: fn('int ov_compiled_model_create_infer_request(void *compiled, _Out_ void **request)'),
    ov_compiled_model_export_model: fn('int ov_compiled_model_export_model(void *compiled, const char *path)'),
    ov_compiled_model_free: fn('void ov_compiled_model_free(void *compiled)'),

    ov_port_get_any_name: fn('int ov_port_get_any_name(void *port, _Out_ void **name)'),
    ov_port_get_element_type: fn('int ov_port_get_element_type(void *port, _Out_ int *type)'),
    ov_port_get_partial_shape: fn(`int ov_port_get_partial_shape(void *port, _Out_ ${s.partialShape.name} *shape)`),
    ov_partial_shape_free: fn(`void ov_partial_shape_free(${s.partialShape.name} *shape)`),
    ov_output_const_port_free: fn('void ov_output_const_port_free(void *port)'),

    ov_shape_create: fn(`int ov_shape_create(int64_t rank, const int64_t *dims, _Out_ ${s.shape.name} *shape)`),
    ov_shape_free: fn(`int ov_shape_free(${s.shape.name} *shape)`),
    ov_tensor_create: fn(`int ov_tensor_create(int type, ${s.shape.name} shape, _Out_ void **tensor)`),
    ov_tensor_create_from_host_ptr: fn(
      `int ov_tensor_create_from_host_ptr(int type, ${s.shape.name} shape, void *host, _Out_ void **tensor)`,
    ),
    ov_tensor_get_shape: fn(`int ov_tensor_get_shape(void *tensor, _Out_ ${s.shape.name} *shape)`),
    ov_tensor_get_element_type: fn('int ov_tensor_get_element_type(void *tensor, _Out_ int *type)'),
    ov_tensor_get_byte_size: fn('int ov_tensor_get_byte_size(void *tensor, _Out_ size_t *size)'),
    ov_tensor_data: fn('int ov_tensor_data(void *tensor, _Out_ void **data)'),
    ov_tensor_free: fn('void ov_tensor_free(void *tensor)'),

    ov_infer_request_set_input_tensor_by_index: fn(
      'int ov_infer_request_set_input_tensor_by_index(void *request, size_t index, void *tensor)',
    ),
    ov_infer_request_get_input_tensor_by_index: fn(
      'int ov_infer_request_get_input_tensor_by_index(void *request, size_t index, _Out_ void **tensor)',
    ),
    ov_infer_request_get_output_tensor_by_index: fn(
      'int ov_infer_request_get_output_tensor_by_index(void *request, size_t index, _Out_ void **tensor)',
    ),
    ov_infer_request_infer: fn('int ov_infer_request_infer(void *request)'),
    ov_infer_request_free: fn('void ov_infer_request_free(void *request)'),
  };
  return bound as unknown as OpenVinoCFunctions;
}

type Status = number;
type Fn<Args extends unknown[], R = Status> = NativeFunction<Args, R>;

/** The typed view of {@link bindOpenVinoC}'s result. */
export interface OpenVinoCFunctions {
  ov_get_openvino_version: Fn<[{ buildNumber?: string; description?: string }]>;
  ov_get_last_err_msg: Fn<[], string | null>;
  ov_get_error_info: Fn<[Status], string | null>;
  ov_free: Fn<[Pointer], void>;

  ov_core_create: Fn<[Out<Pointer>]>;
  ov_core_free: Fn<[Pointer], void>;
  ov_core_read_model: Fn<[Pointer, string, string | null, Out<Pointer>]>;
  ov_core_read_model_from_memory_buffer: Fn<[Pointer, Pointer, number, Pointer | null, Out<Pointer>]>;
  ov_core_compile_model_props: Fn<[Pointer, Pointer, string, number, PropertyArray, Out<Pointer>]> | undefined;
  ov_core_compile_model: Fn<[Pointer, Pointer, string, number, Out<Pointer>, ...unknown[]]>;
  ov_core_import_model: Fn<[Pointer, Pointer, number, string, Out<Pointer>]>;
  ov_core_set_properties: Fn<[Pointer, string | null, number, PropertyArray]> | undefined;
  ov_core_set_property: Fn<[Pointer, string | null, ...unknown[]]>;
  ov_core_get_property: Fn<[Pointer, string | null, string, Out<Pointer>]>;
  ov_core_get_available_devices: Fn<[Pointer, { devices?: Pointer | null; size?: bigint | number }]>;
  ov_available_devices_free: Fn<[{ devices?: Pointer | null; size?: bigint | number }], void>;
  ov_core_get_versions_by_device_name: Fn<[Pointer, string, { versions?: Pointer | null; size?: bigint | number }]>;
  ov_core_versions_free: Fn<[{ versions?: Pointer | null; size?: bigint | number }], void>;

  ov_model_free: Fn<[Pointer], void>;
  ov_model_inputs_size: Fn<[Pointer, [number | bigint]]>;
  ov_model_outputs_size: Fn<[Pointer, [number | bigint]]>;
  ov_model_const_input_by_index: Fn<[Pointer, number, Out<Pointer>]>;
  ov_model_const_output_by_index: Fn<[Pointer, number, Out<Pointer>]>;
  ov_model_get_friendly_name: Fn<[Pointer, Out<Pointer>]>;
  ov_model_is_dynamic: Fn<[Pointer], boolean>;

  ov_compiled_model_inputs_size: Fn<[Pointer, [number | bigint]]>;
  ov_compiled_model_outputs_size: Fn<[Pointer, [number | bigint]]>;
  ov_compiled_model_input_by_index: Fn<[Pointer, number, Out<Pointer>]>;
  ov_compiled_model_output_by_index: Fn<[Pointer, number, Out<Pointer>]>;
  ov_compiled_model_create_infer_request: Fn<[Pointer, Out<Pointer>]>;
  ov_compiled_model_export_model: Fn<[Pointer, string]>;
  ov_compiled_model_free: Fn<[Pointer], void>;

  ov_port_get_any_name: Fn<[Pointer, Out<Pointer>]>;
  ov_port_get_element_type: Fn<[Pointer, [number]]>;
  ov_port_get_partial_shape: Fn<[Pointer, NativePartialShape]>;
  ov_partial_shape_free: Fn<[NativePartialShape], void>;
  ov_output_const_port_free: Fn<[Pointer], void>;

  ov_shape_create: Fn<[number, bigint[] | BigInt64Array | null, NativeShape | Record<string, never>]>;
  ov_shape_free: Fn<[NativeShape]>;
  ov_tensor_create: Fn<[number, NativeShape, Out<Pointer>]>;
  ov_tensor_create_from_host_ptr: Fn<[number, NativeShape, Pointer | null, Out<Pointer>]>;
  ov_tensor_get_shape: Fn<[Pointer, NativeShape | Record<string, never>]>;
  ov_tensor_get_element_type: Fn<[Pointer, [number]]>;
  ov_tensor_get_byte_size: Fn<[Pointer, [number | bigint]]>;
  ov_tensor_data: Fn<[Pointer, Out<Pointer>]>;
  ov_tensor_free: Fn<[Pointer], void>;

  ov_infer_request_set_input_tensor_by_index: Fn<[Pointer, number, Pointer]>;
  ov_infer_request_get_input_tensor_by_index: Fn<[Pointer, number, Out<Pointer>]>;
  ov_infer_request_get_output_tensor_by_index: Fn<[Pointer, number, Out<Pointer>]>;
  ov_infer_request_infer: Fn<[Pointer]>;
  ov_infer_request_free: Fn<[Pointer], void>;
}

/** `ov_partial_shape_t` as koffi decodes it. */
export interface NativePartialShape {
  rank?: { min: bigint | number; max: bigint | number };
  dims?: Pointer | null;
}

/** `ov_property_t[]`: key and value C strings. */
export type PropertyArray = { key: string; value: Pointer }[];
