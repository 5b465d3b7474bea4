import { OpenVinoArgumentError } from '../errors.js';
import { readPorts, type Output } from '../output.js';
import type { Pointer } from './bindings.js';
import { NativeHandle } from './native-handle.js';
import type { Runtime } from './runtime.js';

/** How to list the ports of one kind of native object (`ov_model_t`, `ov_compiled_model_t`). */
export interface PortFunctions {
  readonly inputsSize: (owner: Pointer, size: [number | bigint]) => number;
  readonly inputByIndex: (owner: Pointer, index: number, port: [Pointer | null]) => number;
  readonly outputsSize: (owner: Pointer, size: [number | bigint]) => number;
  readonly outputByIndex: (owner: Pointer, index: number, port: [Pointer | null]) => number;
}

/** A native handle with inputs and outputs, read once on first use (a model's ports do not change). */
export class HandleWithPorts extends NativeHandle {
  readonly #runtime: Runtime;
  readonly #functions: PortFunctions;
  #ports: { inputs: Output[]; outputs: Output[] } | undefined;

  constructor(
    runtime: Runtime,
    pointer: Pointer,
    release: (pointer: Pointer) => void,
    what: string,
    keepAlive: readonly unknown[],
    functions: PortFunctions,
  ) {
    super(pointer, release, what, keepAlive);
    this.#runtime = runtime;
    this.#functions = functions;
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

  #readPorts() {
    const f = this.#functions;
    this.#ports ??= {
      inputs: readPorts(this.#runtime, this.pointer, 'input', f.inputsSize, f.inputByIndex),
      outputs: readPorts(this.#runtime, this.pointer, 'output', f.outputsSize, f.outputByIndex),
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
