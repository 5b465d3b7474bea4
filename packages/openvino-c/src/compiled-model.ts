import type { Pointer } from './lib/bindings.js';
import { captureMemoryFile } from './lib/memory-file.js';
import { HandleWithPorts } from './lib/handle-with-ports.js';
import type { Runtime } from './lib/runtime.js';
import { InferRequest } from './infer-request.js';

/**
 * A model compiled for a device (`ov_compiled_model_t`): `inputs`, `outputs`, `input(…)`,
 * `output(…)`. It keeps alive the memory the model it was compiled from points into (an IR's
 * wrapped weights, an imported blob).
 */
export class CompiledModel extends HandleWithPorts {
  readonly #runtime: Runtime;

  /** @internal */
  constructor(runtime: Runtime, pointer: Pointer, keepAlive: readonly unknown[]) {
    const { fns } = runtime;
    super(runtime, pointer, (p) => fns.ov_compiled_model_free(p), 'compiled model', keepAlive, {
      inputsSize: fns.ov_compiled_model_inputs_size,
      inputByIndex: fns.ov_compiled_model_input_by_index,
      outputsSize: fns.ov_compiled_model_outputs_size,
      outputByIndex: fns.ov_compiled_model_output_by_index,
    });
    this.#runtime = runtime;
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
}
