import { OpenVinoArgumentError } from './errors.js';
import type { Pointer } from './lib/bindings.js';
import { NativeHandle } from './lib/native-handle.js';
import type { Runtime } from './lib/runtime.js';
import { readPorts, type Output } from './output.js';

/**
 * A model read by `Core.readModel` (`ov_model_t`), before compilation. For an IR read from memory it
 * keeps the weights tensor (and so the caller's weight memory) alive: OpenVINO's constants point
 * into it.
 */
export class Model extends NativeHandle {
  readonly #runtime: Runtime;
  #ports: { inputs: Output[]; outputs: Output[] } | undefined;

  /** @internal */
  constructor(runtime: Runtime, pointer: Pointer, keepAlive: readonly unknown[]) {
    super(pointer, (p) => runtime.fns.ov_model_free(p), 'model', keepAlive);
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

  getFriendlyName(): string {
    return this.#runtime.takeString(this.#runtime.out(this.#runtime.fns.ov_model_get_friendly_name, 'ov_model_get_friendly_name', this.pointer));
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

  #readPorts() {
    const { fns } = this.#runtime;
    this.#ports ??= {
      inputs: readPorts(this.#runtime, this.pointer, 'input', fns.ov_model_inputs_size, fns.ov_model_const_input_by_index),
      outputs: readPorts(this.#runtime, this.pointer, 'output', fns.ov_model_outputs_size, fns.ov_model_const_output_by_index),
    };
    return this.#ports;
  }
}

/** Finds a port by index or tensor name, or the only one. */
export function pick(ports: readonly Output[], nameOrIndex: string | number | undefined, kind: string): Output {
  if (nameOrIndex === undefined) {
    if (ports.length !== 1) throw new OpenVinoArgumentError(`the model has ${ports.length} ${kind}s; name one`);
    return ports[0]!;
  }
  const found = typeof nameOrIndex === 'number' ? ports[nameOrIndex] : ports.find((port) => port.anyName === nameOrIndex);
  if (found === undefined) throw new OpenVinoArgumentError(`the model has no ${kind} ${JSON.stringify(nameOrIndex)}`);
  return found;
}
