import type { Pointer } from './lib/bindings.js';
import { captureMemoryFile } from './lib/memory-file.js';
import { NativeHandle } from './lib/native-handle.js';
import type { Runtime } from './lib/runtime.js';
import { InferRequest } from './infer-request.js';
import { pick } from './model.js';
import { readPorts, type Output } from './output.js';

/**
 * A model compiled for a device (`ov_compiled_model_t`). It keeps alive the memory the model it was
 * compiled from points into (an IR's wrapped weights).
 */
export class CompiledModel extends NativeHandle {
  readonly #runtime: Runtime;
  #ports: { inputs: Output[]; outputs: Output[] } | undefined;

  /** @internal */
  constructor(runtime: Runtime, pointer: Pointer, keepAlive: readonly unknown[]) {
    super(pointer, (p) => runtime.fns.ov_compiled_model_free(p), 'compiled model', keepAlive);
    this.#runtime = runtime;
  }

  get inputs(): Output[] {
    return this.#readPorts().inputs;
  }

  get outputs(): Output[] {
    return this.#readPorts().outputs;
  }

  /** The input at an index or with a tensor name; without an argument, the only input. */
  input(nameOrIndex?: string | number): Output {
    return pick(this.inputs, nameOrIndex, 'input');
  }

  /** The output at an index or with a tensor name; without an argument, the only output. */
  output(nameOrIndex?: string | number): Output {
    return pick(this.outputs, nameOrIndex, 'output');
  }

  /** @internal What requests made from this compiled model must keep alive. */
  get keepAlive(): readonly unknown[] {
    return this.retained;
  }

  createInferRequest(): InferRequest {
    const { fns } = this.#runtime;
    const pointer = this.#runtime.out(fns.ov_compiled_model_create_infer_request, 'ov_compiled_model_create_infer_request', this.pointer);
    return new InferRequest(this.#runtime, pointer, this);
  }

  /**
   * The compiled blob, for `Core.importModel`. Written by OpenVINO into an anonymous memory file
   * (`memfd_create`), never to a file on disk. The returned Buffer has its own memory: zero it
   * when done if the model is confidential.
   */
  exportModelSync(): Buffer {
    const pointer = this.pointer;
    return captureMemoryFile((path) =>
      this.#runtime.check(this.#runtime.fns.ov_compiled_model_export_model(pointer, path), 'ov_compiled_model_export_model'),
    );
  }

  #readPorts() {
    const { fns } = this.#runtime;
    this.#ports ??= {
      inputs: readPorts(this.#runtime, this.pointer, 'input', fns.ov_compiled_model_inputs_size, fns.ov_compiled_model_input_by_index),
      outputs: readPorts(this.#runtime, this.pointer, 'output', fns.ov_compiled_model_outputs_size, fns.ov_compiled_model_output_by_index),
    };
    return this.#ports;
  }
}
