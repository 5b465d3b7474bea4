/** A tiny OpenVINO IR model: `output = input + 1` on float32 `[1, size]`, the ones in model.bin. */
export interface TinyIrModel {
  /** model.xml */
  readonly xml: string;
  /** model.bin: `size` float32 ones. */
  readonly weights: Uint8Array;
  /** The input and output shape. */
  readonly shape: readonly [1, number];
}

const port = (id: number, size: number, names?: string) =>
  `<port id="${id}" precision="FP32"${names ? ` names="${names}"` : ''}><dim>1</dim><dim>${size}</dim></port>`;

/**
 * Builds an IR v11 model that adds one to its input, with its constant in the weights file (so a
 * sealed copy has real weights to protect). OpenVINO runs it; any runtime-free test can compare
 * its bytes.
 *
 * @example
 * ```ts
 * const { xml, weights } = tinyIrModel({ size: 4 });
 * ```
 */
export function tinyIrModel(options: { size?: number } = {}): TinyIrModel {
  const size = options.size ?? 10;
  const weights = new Uint8Array(new Float32Array(size).fill(1).buffer);
  const xml = `<?xml version="1.0"?>
<net name="add_one" version="11">
  <layers>
    <layer id="0" name="input" type="Parameter" version="opset1">
      <data shape="1,${size}" element_type="f32"/>
      <output>${port(0, size, 'input')}</output>
    </layer>
    <layer id="1" name="one" type="Const" version="opset1">
      <data element_type="f32" shape="1,${size}" offset="0" size="${weights.length}"/>
      <output>${port(0, size)}</output>
    </layer>
    <layer id="2" name="add" type="Add" version="opset1">
      <data auto_broadcast="numpy"/>
      <input>${port(0, size)}${port(1, size)}</input>
      <output>${port(2, size, 'output')}</output>
    </layer>
    <layer id="3" name="output" type="Result" version="opset1">
      <input>${port(0, size)}</input>
    </layer>
  </layers>
  <edges>
    <edge from-layer="0" from-port="0" to-layer="2" to-port="0"/>
    <edge from-layer="1" from-port="0" to-layer="2" to-port="1"/>
    <edge from-layer="2" from-port="2" to-layer="3" to-port="0"/>
  </edges>
</net>
`;
  return { xml, weights, shape: [1, size] };
}
