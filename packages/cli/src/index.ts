export { main, USAGE } from './main.js';
export type { KeyProviderPlugin } from './lib/plugins.js';
export { PluginError } from './lib/plugin-error.js';
export type { PluginErrorCode } from './lib/plugin-error.js';
export { PLUGIN_PROTOCOL_VERSION } from './lib/executable-plugin.js';
