import koffi from 'koffi';
import { CompiledModel } from './compiled-model.js';
import { OpenVinoArgumentError } from './errors.js';
import { nativeTypes, type Pointer, type PropertyArray } from './lib/bindings.js';
import { NativeHandle } from './lib/native-handle.js';
import type { Runtime } from './lib/runtime.js';
import { Model } from './model.js';
import { Tensor } from './tensor.js';

/** Compile or core properties: OpenVINO property names and their values (sent as text). */
export type Properties = Readonly<Record<string, string | number | boolean>>;

/** A device plugin's version, as `getVersions` reports it. */
export interface PluginVersion {
  readonly buildNumber: string;
  readonly description: string;
}

/**
 * The OpenVINO runtime core (`ov_core_t`), with the calls of openvino-node's `Core` that a loader
 * needs. Reads, compiles and imports run on a worker thread (the `…Sync` forms on the calling
 * thread). Model bytes and weights are read **from memory**: an IR as XML text plus a weights
 * `Tensor` that wraps the caller's memory, ONNX as bytes.
 *
 * @example
 * ```ts
 * import { loadOpenVinoC } from '@ovseal/openvino-c';
 *
 * const ov = await loadOpenVinoC();
 * const core = new ov.Core();
 * const model = await core.readModel(xmlText, new ov.Tensor('u8', [weights.length], weights));
 * const compiled = await core.compileModel(model, 'CPU', { PERFORMANCE_HINT: 'LATENCY' });
 * const result = compiled.createInferRequest().infer({ input: new Float32Array(10) });
 * compiled.dispose();
 * model.dispose();
 * core.dispose();
 * ```
 */
export class Core extends NativeHandle {
  readonly #runtime: Runtime;

  /** @internal Use `new ov.Core()` of a loaded runtime. */
  constructor(runtime: Runtime) {
    super(runtime.out(runtime.fns.ov_core_create, 'ov_core_create'), (p) => runtime.fns.ov_core_free(p), 'core');
    this.#runtime = runtime;
  }

  /**
   * Reads a model:
   * - `readModel(xmlText, weightsTensor)`: an IR from memory; the tensor's memory is used in place
   *   and kept alive by the model;
   * - `readModel(bytes)`: an ONNX model (or IR XML without weights) from memory; OpenVINO copies it;
   * - `readModel(xmlBytes, weightsBytes)`: an IR from memory; the weights are copied first;
   * - `readModel(path, weightsPath?)`: from files (for plain, unsealed models).
   */
  readModel(model: string | Uint8Array, weights?: Tensor | Uint8Array | string): Promise<Model> {
    const call = this.#readCall(model, weights);
    if (call.path !== undefined) return Promise.resolve(this.#readFile(call.path, call.weightsPath));
    return this.pinnedDuring(async (core) => {
      const pointer = await this.#runtime.callAsync(
        this.#runtime.fns.ov_core_read_model_from_memory_buffer,
        'ov_core_read_model_from_memory_buffer',
        core,
        koffi.address(call.text),
        call.text.byteLength,
        call.weights?.pointer ?? null,
      );
      return new Model(this.#runtime, pointer, call.weights === undefined ? [] : [call.weights]);
    });
  }

  /** `readModel` on the calling thread. */
  readModelSync(model: string | Uint8Array, weights?: Tensor | Uint8Array | string): Model {
    const call = this.#readCall(model, weights);
    if (call.path !== undefined) return this.#readFile(call.path, call.weightsPath);
    const { fns } = this.#runtime;
    const pointer = this.#runtime.out(
      fns.ov_core_read_model_from_memory_buffer,
      'ov_core_read_model_from_memory_buffer',
      this.pointer,
      koffi.address(call.text),
      call.text.byteLength,
      call.weights?.pointer ?? null,
    );
    return new Model(this.#runtime, pointer, call.weights === undefined ? [] : [call.weights]);
  }

  /** Compiles a model (or a model file) for a device, on a worker thread. */
  async compileModel(model: Model | string, device: string, config: Properties = {}): Promise<CompiledModel> {
    const source = typeof model === 'string' ? this.#readFile(model) : model;
    try {
      const props = this.#runtime.fns.ov_core_compile_model_props;
      if (props === undefined) return this.compileModelSync(source, device, config);
      const properties = propertyArray(config);
      return await this.pinnedDuring((core) =>
        source.pinnedDuring(async (pointer) => {
          const compiled = await this.#runtime.callAsync(
            props,
            'ov_core_compile_model',
            core,
            pointer,
            device,
            properties.array.length,
            properties.array,
          );
          properties.values.length = 0; // held until now: the worker thread read them during the call
          return new CompiledModel(this.#runtime, compiled, source.keepAlive);
        }),
      );
    } finally {
      if (source !== model) source.dispose();
    }
  }

  /** `compileModel` on the calling thread. */
  compileModelSync(model: Model | string, device: string, config: Properties = {}): CompiledModel {
    const source = typeof model === 'string' ? this.#readFile(model) : model;
    try {
      const { fns } = this.#runtime;
      const properties = propertyArray(config);
      const compiled =
        fns.ov_core_compile_model_props !== undefined
          ? this.#runtime.out(
              fns.ov_core_compile_model_props,
              'ov_core_compile_model',
              this.pointer,
              source.pointer,
              device,
              properties.array.length,
              properties.array,
            )
          : this.#compileVariadic(source, device, config);
      return new CompiledModel(this.#runtime, compiled, source.keepAlive);
    } finally {
      if (source !== model) source.dispose();
    }
  }

  /**
   * Imports a blob made by `CompiledModel.exportModelSync`, from memory, on a worker thread.
   *
   * OpenVINO (2025 and later) **reads the blob in place**: the compiled model's constants point into
   * it. The compiled model keeps `blob` alive; do not change or zero it while the compiled model
   * (or a request made from it) is in use. The compiled model keeps the properties it was compiled
   * with: the C API has no import with properties, so `config` is accepted for openvino-node
   * compatibility and not applied.
   */
  importModel(blob: Uint8Array, device: string, _config?: Properties): Promise<CompiledModel> {
    return this.pinnedDuring(async (core) => {
      const compiled = await this.#runtime.callAsync(
        this.#runtime.fns.ov_core_import_model,
        'ov_core_import_model',
        core,
        koffi.address(blob),
        blob.byteLength,
        device,
      );
      return new CompiledModel(this.#runtime, compiled, [blob]);
    });
  }

  /** `importModel` on the calling thread. */
  importModelSync(blob: Uint8Array, device: string, _config?: Properties): CompiledModel {
    const { fns } = this.#runtime;
    const compiled = this.#runtime.out(
      fns.ov_core_import_model,
      'ov_core_import_model',
      this.pointer,
      koffi.address(blob),
      blob.byteLength,
      device,
    );
    return new CompiledModel(this.#runtime, compiled, [blob]);
  }

  /** Devices the runtime can use (`CPU`, `GPU.0`, …). */
  getAvailableDevices(): string[] {
    const { fns } = this.#runtime;
    const devices: { devices?: Pointer | null; size?: bigint | number } = {};
    this.#runtime.check(fns.ov_core_get_available_devices(this.pointer, devices), 'ov_core_get_available_devices');
    try {
      const size = Number(devices.size ?? 0);
      return size === 0 || !devices.devices ? [] : (koffi.decode(devices.devices, 'const char *', size) as string[]);
    } finally {
      fns.ov_available_devices_free(devices);
    }
  }

  /** The plugin versions behind a device name. */
  getVersions(device: string): Record<string, PluginVersion> {
    const { fns } = this.#runtime;
    const list: { versions?: Pointer | null; size?: bigint | number } = {};
    this.#runtime.check(fns.ov_core_get_versions_by_device_name(this.pointer, device, list), 'ov_core_get_versions_by_device_name');
    try {
      const size = Number(list.size ?? 0);
      if (size === 0 || !list.versions) return {};
      const entries = koffi.decode(list.versions, nativeTypes.coreVersion, size) as {
        device_name: string;
        version: { buildNumber: string | null; description: string | null };
      }[];
      return Object.fromEntries(
        entries.map((entry) => [
          entry.device_name,
          { buildNumber: entry.version.buildNumber ?? '', description: entry.version.description ?? '' },
        ]),
      );
    } finally {
      fns.ov_core_versions_free(list);
    }
  }

  /** A core property (`getProperty(name)`) or a device's (`getProperty(device, name)`), as text. */
  getProperty(deviceOrName: string, name?: string): string {
    // The C API reads a core-wide property with an empty device name (NULL is not accepted).
    const [device, key] = name === undefined ? ['', deviceOrName] : [deviceOrName, name];
    const { fns } = this.#runtime;
    return this.#runtime.takeString(this.#runtime.out(fns.ov_core_get_property, 'ov_core_get_property', this.pointer, device, key));
  }

  /** Sets core properties (`setProperty(props)`) or a device's (`setProperty(device, props)`). */
  setProperty(deviceOrProps: string | Properties, props?: Properties): void {
    const [device, values] = typeof deviceOrProps === 'string' ? [deviceOrProps, props ?? {}] : [null, deviceOrProps];
    const { fns } = this.#runtime;
    const properties = propertyArray(values);
    if (properties.array.length === 0) return;
    if (fns.ov_core_set_properties !== undefined) {
      this.#runtime.check(
        fns.ov_core_set_properties(this.pointer, device, properties.array.length, properties.array),
        'ov_core_set_properties',
      );
      return;
    }
    const pairs = Object.entries(values).flatMap(([key, value]) => ['const char *', key, 'const char *', String(value)]);
    this.#runtime.check(fns.ov_core_set_property(this.pointer, device, ...pairs), 'ov_core_set_property');
  }

  #readCall(model: string | Uint8Array, weights: Tensor | Uint8Array | string | undefined) {
    if (typeof model === 'string' && (weights === undefined || typeof weights === 'string')) {
      return { path: model, weightsPath: weights };
    }
    if (typeof weights === 'string') throw new OpenVinoArgumentError('a weights path goes with a model path, not model text');
    const text = typeof model === 'string' ? Buffer.from(model, 'utf8') : model;
    if (!(text instanceof Uint8Array)) throw new OpenVinoArgumentError('readModel takes model text, bytes or a path');
    // Bytes are copied into a tensor of their own, as openvino-node does; a Tensor is used in place.
    const tensor =
      weights instanceof Uint8Array ? new Tensor(this.#runtime, 'u8', [weights.byteLength], Uint8Array.from(weights)) : weights;
    return { path: undefined, weightsPath: undefined, text, weights: tensor };
  }

  #readFile(path: string, weightsPath?: string): Model {
    const { fns } = this.#runtime;
    return new Model(
      this.#runtime,
      this.#runtime.out(fns.ov_core_read_model, 'ov_core_read_model', this.pointer, path, weightsPath ?? null),
      [],
    );
  }

  /** Runtimes without `ov_core_compile_model_props`: the variadic call, which koffi runs on this thread only. */
  #compileVariadic(model: Model, device: string, config: Properties): Pointer {
    const pairs = Object.entries(config).flatMap(([key, value]) => ['const char *', key, 'const char *', String(value)]);
    const out: [Pointer | null] = [null];
    this.#runtime.check(
      this.#runtime.fns.ov_core_compile_model(this.pointer, model.pointer, device, pairs.length / 2, out, ...pairs),
      'ov_core_compile_model',
    );
    return out[0]!;
  }
}

/**
 * `ov_property_t[]` for a config. The values are NUL-terminated strings passed by address: `values`
 * must stay reachable until the call returns (callers hold the returned object across it).
 */
function propertyArray(config: Properties): { array: PropertyArray; values: Buffer[] } {
  const values = Object.values(config).map((value) => Buffer.from(`${String(value)}\0`, 'utf8'));
  const array = Object.keys(config).map((key, i) => ({ key, value: koffi.address(values[i]!) }));
  return { array, values };
}
