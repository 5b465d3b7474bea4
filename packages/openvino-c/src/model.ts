import type { Pointer } from './lib/bindings.js';
import { HandleWithPorts } from './lib/handle-with-ports.js';
import type { Runtime } from './lib/runtime.js';

/**
 * A model read by `Core.readModel` (`ov_model_t`), before compilation: `inputs`, `outputs`,
 * `input(…)`, `output(…)`. For an IR read from memory it keeps the weights tensor (and so the
 * caller's weight memory) alive: OpenVINO's constants point into it.
 */
export class Model extends HandleWithPorts {
  readonly #runtime: Runtime;

  /** @internal */
  constructor(runtime: Runtime, pointer: Pointer, keepAlive: readonly unknown[]) {
    const { fns } = runtime;
    super(runtime, pointer, (p) => fns.ov_model_free(p), 'model', keepAlive, {
      inputsSize: fns.ov_model_inputs_size,
      inputByIndex: fns.ov_model_const_input_by_index,
      outputsSize: fns.ov_model_outputs_size,
      outputByIndex: fns.ov_model_const_output_by_index,
    });
    this.#runtime = runtime;
  }

  getFriendlyName(): string {
    return this.#runtime.takeString(
      this.#runtime.out(this.#runtime.fns.ov_model_get_friendly_name, 'ov_model_get_friendly_name', this.pointer),
    );
  }

  getName(): string {
    return this.getFriendlyName();
  }

  getOutputSize(): number {
    return this.outputs.length;
  }

  isDynamic(): boolean {
    return this.#runtime.fns.ov_model_is_dynamic(this.pointer);
  }

  /** @internal What a compiled model made from this model must keep alive. */
  get keepAlive(): readonly unknown[] {
    return this.retained;
  }
}
