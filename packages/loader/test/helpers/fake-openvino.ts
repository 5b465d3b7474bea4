/**
 * A stand-in for openvino-node, for the loader logic that must be tested where OpenVINO's native
 * runtime is absent (it is, on these machines): which runtime call each format takes, the refusal
 * of CACHE_DIR, and every path of the encrypted compiled-model cache. The real runtime runs the
 * same paths in openvino.test.ts wherever it loads.
 *
 * It mimics the constraints of the real binding that matter to the loader: a Tensor wraps a typed
 * array only if it is not over a SharedArrayBuffer, starts at byte 0 and covers its whole buffer
 * (openvino-node's cast_to_tensor), and readModel(bytes) / importModel copy their input.
 */
import { createHash } from 'node:crypto';
import type { OpenVinoAddon, OpenVinoCore } from '../../src/index.js';

const BLOB_MAGIC = 'FAKE-OV-BLOB/1\n';

export class FakeTensor {
  readonly type: string;
  readonly shape: number[];
  readonly data: Uint8Array;
  constructor(type: string, shape: number[], data?: Uint8Array) {
    this.type = type;
    this.shape = shape;
    const size = shape.reduce((a, b) => a * b, 1);
    if (data === undefined) {
      this.data = new Uint8Array(size);
      return;
    }
    if (data.buffer instanceof SharedArrayBuffer) throw new Error('Invalid argument (N-API refuses SharedArrayBuffer)');
    if (data.byteOffset !== 0) throw new Error('TypedArray.byteOffset has to be equal to zero.');
    if (data.buffer.byteLength !== size) throw new Error("Memory allocated using shape and element::type mismatch passed data's size");
    this.data = data; // wrapped, not copied
  }
}

export interface FakeModel {
  readonly kind: 'ir' | 'onnx';
  readonly xml?: string;
  /** IR: the wrapped weights tensor (same memory as the loader's buffer). */
  readonly weights?: FakeTensor;
  /** ONNX: the model bytes, copied like the real binding does. */
  readonly onnx?: Uint8Array;
}

export class FakeCompiledModel {
  readonly device: string;
  readonly build: string;
  /** SHA-256 of what was compiled, so a test can tell which model it came from. */
  readonly source: string;
  exportFails = false;
  constructor(device: string, build: string, source: string) {
    this.device = device;
    this.build = build;
    this.source = source;
  }
  exportModelSync(): Buffer {
    if (this.exportFails) throw new Error('export is not supported by this device');
    return Buffer.from(`${BLOB_MAGIC}${JSON.stringify({ device: this.device, build: this.build, source: this.source })}`);
  }
}

export class FakeCore {
  build = '2024.3.0-fake';
  properties: Record<string, string> = {};
  compiles = 0;
  imports = 0;
  refuseImports = false;
  exportFails = false;
  readonly reads: FakeModel[] = [];

  getProperty(name: string): string {
    if (!(name in this.properties)) throw new Error(`Unsupported property ${name}`);
    return this.properties[name]!;
  }

  getVersions(device: string) {
    return { [device]: { buildNumber: this.build, description: 'fake plugin' } };
  }

  async readModel(model: string | Uint8Array, weights?: FakeTensor): Promise<FakeModel> {
    const read: FakeModel =
      typeof model === 'string'
        ? { kind: 'ir', xml: model, ...(weights ? { weights } : {}) }
        : { kind: 'onnx', onnx: Uint8Array.from(model) };
    this.reads.push(read);
    return read;
  }

  async compileModel(model: FakeModel, device: string, _config?: Record<string, string>): Promise<FakeCompiledModel> {
    this.compiles++;
    const hash = createHash('sha256');
    if (model.kind === 'ir') hash.update(model.xml!).update(model.weights!.data);
    else hash.update(model.onnx!);
    const compiled = new FakeCompiledModel(device, this.build, hash.digest('hex'));
    compiled.exportFails = this.exportFails;
    return compiled;
  }

  async importModel(stream: Buffer, device: string, _config?: Record<string, string>): Promise<FakeCompiledModel> {
    if (!Buffer.isBuffer(stream)) throw new Error('The first argument must be of type Buffer.');
    const text = Buffer.from(stream).toString('utf8'); // copied, like the binding's std::string
    if (this.refuseImports || !text.startsWith(BLOB_MAGIC)) throw new Error('Cannot import: incompatible blob');
    const blob = JSON.parse(text.slice(BLOB_MAGIC.length)) as { device: string; build: string; source: string };
    if (blob.device !== device || blob.build !== this.build) throw new Error('Cannot import: blob of another device or version');
    this.imports++;
    return new FakeCompiledModel(device, blob.build, blob.source);
  }
}

/** A blob the fake core imports, for sealed `openvino-blob` containers. */
export function fakeBlob(device: string, build: string, source: string): Uint8Array {
  return new FakeCompiledModel(device, build, source).exportModelSync();
}

export function fakeOpenVino(): { addon: OpenVinoAddon; core: FakeCore; asCore: OpenVinoCore } {
  const core = new FakeCore();
  const addon = { Core: FakeCore, Tensor: FakeTensor } as unknown as OpenVinoAddon;
  return { addon, core, asCore: core as unknown as OpenVinoCore };
}
