import koffi from 'koffi';
import { OpenVinoArgumentError } from './errors.js';
import type { NativePartialShape, Pointer } from './lib/bindings.js';
import { nativeTypeName } from './lib/element-types.js';
import type { Runtime } from './lib/runtime.js';

/** A dimension: a number when static, `[min, max]` when dynamic (`max` -1 when unbounded). */
export type Dimension = number | [number, number];

/** A shape whose rank or dimensions may be dynamic (openvino-node's `PartialShape`). */
export interface PartialShape {
  isStatic(): boolean;
  isDynamic(): boolean;
  /** The dimensions; empty when the rank itself is dynamic. */
  getDimensions(): Dimension[];
  toString(): string;
}

/**
 * An input or output of a model or compiled model (openvino-node's `Output`): its tensor name,
 * element type and shape, read once when the model was made (a model's ports do not change).
 */
export class Output {
  /** The tensor name; `input_N` / `output_N` for a nameless port (IR v10 models may have them). */
  readonly anyName: string;
  /** The element type's name (`f32`, `i64`, …). */
  readonly elementType: string;
  readonly #partialShape: PartialShape;
  readonly #index: number;

  /** @internal */
  constructor(anyName: string, elementType: string, partialShape: PartialShape, index: number) {
    this.anyName = anyName;
    this.elementType = elementType;
    this.#partialShape = partialShape;
    this.#index = index;
  }

  /** The static shape; throws `ERR_INVALID_ARGUMENT` for a dynamic one (see `getPartialShape`). */
  get shape(): number[] {
    const dims = this.#partialShape.getDimensions();
    if (this.#partialShape.isDynamic()) {
      throw new OpenVinoArgumentError(`port ${this.anyName} has the dynamic shape ${this.#partialShape.toString()}`);
    }
    return dims as number[];
  }

  getAnyName(): string {
    return this.anyName;
  }

  getShape(): number[] {
    return this.shape;
  }

  getPartialShape(): PartialShape {
    return this.#partialShape;
  }

  getElementType(): string {
    return this.elementType;
  }

  /** The port's position among the model's inputs or outputs. */
  get index(): number {
    return this.#index;
  }

  toString(): string {
    return this.anyName;
  }
}

/** Reads every input or output port of a model or compiled model. */
export function readPorts(
  runtime: Runtime,
  owner: Pointer,
  kind: 'input' | 'output',
  count: (owner: Pointer, size: [number | bigint]) => number,
  byIndex: (owner: Pointer, index: number, port: [Pointer | null]) => number,
): Output[] {
  const size: [number | bigint] = [0];
  runtime.check(count(owner, size), `${kind}s_size`);
  return Array.from({ length: Number(size[0]) }, (_, index) => {
    const port: [Pointer | null] = [null];
    runtime.check(byIndex(owner, index, port), `${kind}_by_index`);
    try {
      return readPort(runtime, port[0]!, kind, index);
    } finally {
      runtime.fns.ov_output_const_port_free(port[0]!);
    }
  });
}

function readPort(runtime: Runtime, port: Pointer, kind: 'input' | 'output', index: number): Output {
  const { fns } = runtime;
  const name: [Pointer | null] = [null];
  // A port without tensor names makes get_any_name throw: name it by position instead.
  const anyName = fns.ov_port_get_any_name(port, name) === 0 ? runtime.takeString(name[0]) : `${kind}_${index}`;
  const type = [0];
  runtime.check(fns.ov_port_get_element_type(port, type as [number]), 'ov_port_get_element_type');
  const shape: NativePartialShape = {};
  runtime.check(fns.ov_port_get_partial_shape(port, shape), 'ov_port_get_partial_shape');
  try {
    return new Output(anyName, nativeTypeName(type[0]!, runtime.elementOffset), partialShapeOf(shape), index);
  } finally {
    fns.ov_partial_shape_free(shape);
  }
}

function partialShapeOf(shape: NativePartialShape): PartialShape {
  const rank = { min: Number(shape.rank?.min ?? -1), max: Number(shape.rank?.max ?? -1) };
  const rankIsStatic = rank.min === rank.max && rank.min >= 0;
  let dims: Dimension[] = [];
  if (rankIsStatic && rank.min > 0 && shape.dims) {
    const raw = koffi.decode(shape.dims, 'int64_t', rank.min * 2) as (number | bigint)[];
    dims = Array.from({ length: rank.min }, (_, i) => {
      const [min, max] = [Number(raw[2 * i]), Number(raw[2 * i + 1])];
      return min === max ? min : [min, max];
    });
  }
  const isStatic = rankIsStatic && dims.every((d) => typeof d === 'number');
  const text = rankIsStatic
    ? `[${dims.map((d) => (typeof d === 'number' ? d : d[1] === -1 ? '?' : `${d[0]}..${d[1]}`)).join(',')}]`
    : '[...]';
  return {
    isStatic: () => isStatic,
    isDynamic: () => !isStatic,
    getDimensions: () => dims.map((d) => (typeof d === 'number' ? d : ([...d] as [number, number]))),
    toString: () => text,
  };
}
