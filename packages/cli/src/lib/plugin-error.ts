import { OvsealError } from '@ovseal/container';

/** Codes of the errors a key provider plugin causes (CLI exit code 7, like other key failures). */
export type PluginErrorCode = 'ERR_PLUGIN_LOAD' | 'ERR_PLUGIN_PROTOCOL' | 'ERR_PLUGIN_FAILED';

/** A plugin could not be loaded, broke its protocol, or reported a failure of its own. */
export class PluginError extends OvsealError {
  declare readonly code: PluginErrorCode;
  /** The plugin's own error code, when it reported one. */
  readonly pluginCode: string | undefined;
  constructor(code: PluginErrorCode, message: string, options?: { cause?: unknown; pluginCode?: string }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.pluginCode = options?.pluginCode;
  }
}
