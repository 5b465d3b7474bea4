import type { CompiledModel } from './compiled-model.js';
import { OpenVinoArgumentError } from './errors.js';
import type { Pointer } from './lib/bindings.js';
import type { TensorArray } from './lib/element-types.js';
import { NativeHandle } from './lib/native-handle.js';
import type { Runtime } from './lib/runtime.js';
import { pick } from './lib/handle-with-ports.js';
import type { Output } from './output.js';
import { Tensor } from './tensor.js';

/** Inputs of an inference: by tensor name, or in input order. Typed arrays take the input's type and shape. */
export type InferInputs = Readonly<Record<string, Tensor | TensorArray>> | readonly (Tensor | TensorArray)[];

/**
 * One inference request of a compiled model (`ov_infer_request_t`). `infer` runs on the calling
 * thread, like openvino-node's; `inferAsync` runs on a worker thread and leaves the event loop free.
 * One inference at a time per request: create one request per concurrent caller.
 *
 * @example
 * ```ts
 * const request = compiled.createInferRequest();
 * const { [compiled.outputs[0].anyName]: scores } = await request.inferAsync({ x: pixels });
 * console.log(scores.data);
 * request.dispose();
 * ```
 */
export class InferRequest extends NativeHandle {
  readonly #runtime: Runtime;
  readonly #compiled: CompiledModel;
  /** Input tensors set on the request: OpenVINO reads their memory at each inference. */
  readonly #inputs = new Map<number, Tensor>();
  #busy = false;

  /** @internal */
  constructor(runtime: Runtime, pointer: Pointer, compiled: CompiledModel) {
    // The native request keeps the compiled model alive after `compiled.dispose()`: so must the JS
    // side keep the memory that model reads (wrapped weights, an imported blob).
    super(pointer, (p) => runtime.fns.ov_infer_request_free(p), 'infer request', [compiled, ...compiled.keepAlive]);
    this.#runtime = runtime;
    this.#compiled = compiled;
  }

  getCompiledModel(): CompiledModel {
    return this.#compiled;
  }

  /** Sets inputs (if given), infers on this thread, and returns the outputs by tensor name. */
  infer(inputs?: InferInputs): Record<string, Tensor> {
    this.#assertIdle();
    if (inputs !== undefined) this.#setInputs(inputs);
    this.#runtime.check(this.#runtime.fns.ov_infer_request_infer(this.pointer), 'ov_infer_request_infer');
    return this.#outputs();
  }

  /** Like `infer`, on a worker thread. */
  async inferAsync(inputs?: InferInputs): Promise<Record<string, Tensor>> {
    this.#assertIdle();
    if (inputs !== undefined) this.#setInputs(inputs);
    this.#busy = true;
    try {
      await this.pinnedDuring(
        (pointer) =>
          new Promise<void>((resolve, reject) => {
            this.#runtime.fns.ov_infer_request_infer.async(pointer, (error: unknown, status: number) => {
              // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- koffi's error, passed on
              if (error) return reject(error);
              try {
                this.#runtime.check(status, 'ov_infer_request_infer');
                resolve();
              } catch (failure) {
                reject(failure);
              }
            });
          }),
      );
    } finally {
      this.#busy = false;
    }
    return this.#outputs();
  }

  /** Sets input `index` (default 0, the only input) to a tensor; the request keeps it alive. */
  setInputTensor(indexOrTensor: number | Tensor, tensor?: Tensor): void {
    const [index, value] = typeof indexOrTensor === 'number' ? [indexOrTensor, tensor] : [0, indexOrTensor];
    if (!(value instanceof Tensor)) throw new OpenVinoArgumentError('setInputTensor takes a Tensor');
    this.#assertIdle();
    const { fns } = this.#runtime;
    this.#runtime.check(
      fns.ov_infer_request_set_input_tensor_by_index(this.pointer, index, value.pointer),
      'ov_infer_request_set_input_tensor_by_index',
    );
    this.#inputs.set(index, value);
  }

  /** Sets the input with this tensor name. */
  setTensor(name: string, tensor: Tensor): void {
    this.setInputTensor(pick(this.#compiled.inputs, name, 'input').index, tensor);
  }

  getInputTensor(index = 0): Tensor {
    const { fns } = this.#runtime;
    return this.#adopt(
      this.#runtime.out(fns.ov_infer_request_get_input_tensor_by_index, 'ov_infer_request_get_input_tensor_by_index', this.pointer, index),
    );
  }

  getOutputTensor(index = 0): Tensor {
    const { fns } = this.#runtime;
    return this.#adopt(
      this.#runtime.out(
        fns.ov_infer_request_get_output_tensor_by_index,
        'ov_infer_request_get_output_tensor_by_index',
        this.pointer,
        index,
      ),
    );
  }

  /** The input or output tensor with this name (or of this port). */
  getTensor(nameOrPort: string | Output): Tensor {
    const name = typeof nameOrPort === 'string' ? nameOrPort : nameOrPort.anyName;
    const input = this.#compiled.inputs.find((port) => port.anyName === name);
    if (input !== undefined) return this.getInputTensor(input.index);
    return this.getOutputTensor(pick(this.#compiled.outputs, name, 'input or output').index);
  }

  override dispose(): void {
    this.#inputs.clear();
    super.dispose();
  }

  #setInputs(inputs: InferInputs): void {
    const ports = this.#compiled.inputs;
    const entries: [Output, Tensor | TensorArray][] = Array.isArray(inputs)
      ? (inputs as readonly (Tensor | TensorArray)[]).map((value, i) => [pick(ports, i, 'input'), value])
      : Object.entries(inputs as Record<string, Tensor | TensorArray>).map(([name, value]) => [pick(ports, name, 'input'), value]);
    for (const [port, value] of entries) {
      const tensor = value instanceof Tensor ? value : new Tensor(this.#runtime, port.elementType, port.shape, value);
      this.setInputTensor(port.index, tensor);
    }
  }

  #outputs(): Record<string, Tensor> {
    const results: Record<string, Tensor> = {};
    for (const port of this.#compiled.outputs) results[port.anyName] = this.getOutputTensor(port.index);
    return results;
  }

  #adopt(pointer: Pointer): Tensor {
    return new Tensor(this.#runtime, { adopt: pointer, keepAlive: [this] });
  }

  #assertIdle(): void {
    if (this.#busy) throw new OpenVinoArgumentError('an inference is running on this request; wait for it or create another request');
  }
}
