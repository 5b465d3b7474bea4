// Compile-time check (tsc -p tsconfig.test.json): both OpenVINO bindings fit the loader's
// structural OpenVinoAddon type, so `loadOpenVino(source, { openvino })` takes either.
import type { addon as openvinoNodeAddon } from 'openvino-node';
import type { OpenVinoC } from '@ovseal/openvino-c';
import type { OpenVinoAddon } from '../src/index.js';

export const openvinoNodeFits = (addon: typeof openvinoNodeAddon): OpenVinoAddon => addon;
export const openvinoCFits = (runtime: OpenVinoC): OpenVinoAddon => runtime;
