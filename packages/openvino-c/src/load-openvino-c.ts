import { Core } from './core.js';
import { findOpenVinoLibrary, type FindOpenVinoLibraryOptions, type OpenVinoLibraryLocation } from './find-openvino-library.js';
import { element, type ElementTypeName } from './lib/element-types.js';
import { Runtime } from './lib/runtime.js';
import { Tensor } from './tensor.js';

/**
 * A loaded OpenVINO runtime with openvino-node's shape: `new ov.Core()`, `new ov.Tensor(type,
 * shape, data?)`, `ov.element`. Pass it where the loader takes openvino-node's `addon`
 * (`loadOpenVino(source, { openvino: ov })`).
 */
export interface OpenVinoC {
  readonly Core: new () => Core;
  readonly Tensor: new (type: ElementTypeName | number, shape: readonly number[], data?: ArrayBufferView) => Tensor;
  readonly element: typeof element;
  /** The runtime's build number, e.g. `2026.4.1-22982-e213a147257-releases/2026/4`. */
  readonly version: string;
  /** Where the C library was found, and by which step. */
  readonly library: OpenVinoLibraryLocation;
}

const loaded = new Map<string, Promise<OpenVinoC>>();

/**
 * Finds and loads OpenVINO's C library (see `findOpenVinoLibrary` for the search order), checks that
 * it is a supported OpenVINO, and returns the classes bound to it. Loading the same library again
 * returns the same object. Nothing is downloaded: any installed runtime works (the PyPI wheel, a
 * distribution package, an archive).
 *
 * Throws `OpenVinoUnavailableError` (`ERR_OPENVINO_UNAVAILABLE`, with a hint) when no library is
 * found, or the one found does not load, is not OpenVINO, or is older than 2023.0.
 *
 * @example
 * ```ts
 * import { loadOpenVinoC } from '@ovseal/openvino-c';
 *
 * const ov = await loadOpenVinoC(); // or { libraryPath: '/opt/openvino/libs' }
 * const core = new ov.Core();
 * console.log(ov.version, core.getAvailableDevices());
 * ```
 */
export async function loadOpenVinoC(options: FindOpenVinoLibraryOptions = {}): Promise<OpenVinoC> {
  const library = await findOpenVinoLibrary(options);
  let entry = loaded.get(library.path);
  if (entry === undefined) {
    entry = Promise.resolve().then(() => bind(new Runtime(library.path), library));
    loaded.set(library.path, entry);
    // A failed load is not remembered: the library may be fixed while the process runs.
    entry.catch(() => loaded.delete(library.path));
  }
  return entry;
}

function bind(runtime: Runtime, library: OpenVinoLibraryLocation): OpenVinoC {
  class BoundCore extends Core {
    constructor() {
      super(runtime);
    }
  }
  class BoundTensor extends Tensor {
    constructor(type: ElementTypeName | number, shape: readonly number[], data?: ArrayBufferView) {
      super(runtime, type, shape, data);
    }
  }
  Object.defineProperty(BoundCore, 'name', { value: 'Core' });
  Object.defineProperty(BoundTensor, 'name', { value: 'Tensor' });
  return Object.freeze({ Core: BoundCore, Tensor: BoundTensor, element, version: runtime.buildNumber, library });
}
