import { packageProject } from '../../vitest.shared.js';

export default packageProject('openvino-c', { openvino: true });
