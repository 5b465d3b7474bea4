import { packageProject } from '../../vitest.shared.js';

export default packageProject('edge-runner', { openvino: true });
