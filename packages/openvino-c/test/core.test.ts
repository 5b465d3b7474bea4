/**
 * @ovseal/openvino-c against the real OpenVINO runtime: models read from memory, compiled, run,
 * exported to memory and imported again, with results checked against what each model computes.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from 'vitest';
import { ocrModels, tinyIr } from '@ovseal/test-fixtures';
import { describeOpenVino } from './helpers.js';

describeOpenVino('Core over the C API', (ov) => {
  const core = new ov.Core();
  const config = { INFERENCE_PRECISION_HINT: 'f32' };

  const readTiny = (addend: number[] | number, shape = [1, 10]) => {
    const { xml, weights } = tinyIr({ shape, addend });
    // The weights get memory of their own, so a test can change them and see OpenVINO read them.
    const owned = new Uint8Array(new ArrayBuffer(weights.byteLength));
    owned.set(weights);
    return { xml, weights: owned, tensor: new ov.Tensor('u8', [owned.byteLength], owned) };
  };

  test('reports its version, devices and the CPU plugin', () => {
    expect(ov.version).toMatch(/^\d{4}\.\d+\.\d+/);
    expect(core.getAvailableDevices()).toContain('CPU');
    const versions = core.getVersions('CPU');
    expect(Object.keys(versions)).toEqual(['CPU']);
    expect(versions.CPU!.buildNumber).toBe(ov.version);
    expect(core.getProperty('CACHE_DIR')).toBe('');
  });

  test('an IR read from memory adds its constant; ports have names, types and shapes', async () => {
    const addend = Array.from({ length: 10 }, (_, i) => i - 4.5);
    const { xml, tensor } = readTiny(addend);
    const model = await core.readModel(xml, tensor);
    expect(model.inputs.map((port) => [port.anyName, port.elementType, port.shape])).toEqual([['input', 'f32', [1, 10]]]);
    const compiled = await core.compileModel(model, 'CPU', config);
    expect(compiled.outputs.map((port) => port.anyName)).toEqual(['output']);
    const input = Float32Array.from({ length: 10 }, (_, i) => i * 0.5);
    const { output } = compiled.createInferRequest().infer({ input });
    expect(Array.from(output!.data as Float32Array)).toEqual(Array.from(input, (x, i) => Math.fround(x + addend[i]!)));
    expect(output!.getShape()).toEqual([1, 10]);
    expect(output!.getElementType()).toBe('f32');
  });

  test('the weights tensor wraps the caller’s memory: no copy is made', async () => {
    const { xml, weights, tensor } = readTiny(1);
    expect(tensor.data).toBe(weights);
    // Changed after the tensor was made, before the model is read: OpenVINO sees the new values.
    new Float32Array(weights.buffer).fill(7);
    const compiled = await core.compileModel(await core.readModel(xml, tensor), 'CPU', config);
    const { output } = compiled.createInferRequest().infer([new Float32Array(10)]);
    expect(Array.from(output!.data as Float32Array)).toEqual(new Array(10).fill(7));
  });

  test('inferAsync runs on a worker thread and gives the same answer as infer', async () => {
    const { xml, tensor } = readTiny(2);
    const compiled = await core.compileModel(await core.readModel(xml, tensor), 'CPU', config);
    const request = compiled.createInferRequest();
    const input = Float32Array.from({ length: 10 }, (_, i) => i);
    const running = request.inferAsync({ input });
    expect(() => request.infer({ input })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    const asynchronous = Array.from((await running).output!.data as Float32Array);
    expect(asynchronous).toEqual(Array.from(request.infer({ input }).output!.data as Float32Array));
    expect(asynchronous).toEqual(Array.from(input, (x) => x + 2));
  });

  test('ONNX from bytes: the PP-OCRv4 detector compiles and keeps its dynamic input shape', async () => {
    const onnx = await readFile(ocrModels.detector);
    const model = await core.readModel(new Uint8Array(onnx));
    const [input] = model.inputs;
    expect(input!.anyName).toBe('x');
    expect(input!.getPartialShape().isDynamic()).toBe(true);
    const compiled = await core.compileModel(model, 'CPU', config);
    const request = compiled.createInferRequest();
    const pixels = new Float32Array(3 * 64 * 64).fill(0.5);
    const result = await request.inferAsync({ x: new ov.Tensor('f32', [1, 3, 64, 64], pixels) });
    const [map] = Object.values(result);
    expect(map!.getShape()).toEqual([1, 1, 64, 64]);
    const values = map!.data as Float32Array;
    expect(values.every((p) => p >= 0 && p <= 1)).toBe(true);
  });

  test('export to memory, import from memory: same outputs', async () => {
    const { xml, tensor } = readTiny(3);
    const compiled = await core.compileModel(await core.readModel(xml, tensor), 'CPU', config);
    const blob = compiled.exportModelSync();
    expect(blob.byteLength).toBeGreaterThan(100);
    const imported = await core.importModel(blob, 'CPU');
    const input = Float32Array.from({ length: 10 }, (_, i) => -i);
    const out = (model: typeof compiled) => Array.from(model.createInferRequest().infer([input]).output!.data as Float32Array);
    expect(out(imported)).toEqual(out(compiled));
    expect(out(imported)).toEqual(Array.from(input, (x) => x + 3));
    expect(out(core.importModelSync(blob, 'CPU'))).toEqual(out(compiled));
  });

  test('i64 and scalar tensors (types openvino-node 2024.3 cannot pass)', () => {
    const tensor = new ov.Tensor('i64', [2, 2], BigInt64Array.from([1n, -2n, 3n, 1n << 40n]));
    expect(Array.from(tensor.data as BigInt64Array)).toEqual([1n, -2n, 3n, 1n << 40n]);
    expect(tensor.getElementType()).toBe('i64');
    const scalar = new ov.Tensor('f32', [], Float32Array.of(2.5));
    expect(scalar.getShape()).toEqual([]);
    expect(scalar.getSize()).toBe(1);
    const owned = new ov.Tensor(ov.element.f32, [3]);
    owned.data = Float32Array.of(1, 2, 3);
    expect(Array.from(owned.data)).toEqual([1, 2, 3]);
  });

  test('dispose frees at once; a disposed object throws a typed error; using works', async () => {
    const { xml, tensor } = readTiny(1);
    const model = await core.readModel(xml, tensor);
    {
      using compiled = await core.compileModel(model, 'CPU', config);
      expect(compiled.disposed).toBe(false);
      model.dispose();
      // The compiled model does not need the JS model object any more.
      expect(compiled.createInferRequest().infer([new Float32Array(10)]).output!.data).toHaveLength(10);
    }
    expect(() => model.inputs).toThrow(expect.objectContaining({ code: 'ERR_OPENVINO_DISPOSED' }));
    model.dispose(); // idempotent
  });

  test('disposing a model while it compiles on a worker thread waits for the compile', async () => {
    const { xml, tensor } = readTiny(5);
    const model = await core.readModel(xml, tensor);
    const compiling = core.compileModel(model, 'CPU', config);
    model.dispose();
    const compiled = await compiling;
    expect(Array.from(compiled.createInferRequest().infer([new Float32Array(10)]).output!.data as Float32Array)).toEqual(
      new Array(10).fill(5),
    );
  });
});
