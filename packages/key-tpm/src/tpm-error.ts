import { OvsealError } from '@ovseal/container';

/**
 * Codes of the errors thrown by `@ovseal/key-tpm`.
 *
 * - `ERR_TPM_POLICY`: the TPM refused a policy (the PCRs, i.e. the boot state, differ from the sealed ones).
 * - `ERR_TPM_AUTH`: an authorization value was wrong, or the TPM is in dictionary-attack lockout.
 * - `ERR_TPM_OBJECT_NOT_FOUND`: no object at that handle (a device key or a persistent primary).
 * - `ERR_TPM_HANDLE_IN_USE`: a persistent handle is already taken (refusing to replace a key).
 * - `ERR_TPM_UNREACHABLE`: tpm2-tools could not talk to any TPM through the TCTI.
 * - `ERR_TPM_TOOLS_MISSING`: `tpm2-tools` (or `swtpm`) is not installed.
 * - `ERR_TPM_TIMEOUT`: a command did not answer within the timeout.
 * - `ERR_TPM_COMMAND`: any other failure of a tpm2-tools command.
 */
export type TpmErrorCode =
  | 'ERR_TPM_POLICY'
  | 'ERR_TPM_AUTH'
  | 'ERR_TPM_OBJECT_NOT_FOUND'
  | 'ERR_TPM_HANDLE_IN_USE'
  | 'ERR_TPM_UNREACHABLE'
  | 'ERR_TPM_TOOLS_MISSING'
  | 'ERR_TPM_TIMEOUT'
  | 'ERR_TPM_COMMAND';

/**
 * A TPM failure. `tool` names the tpm2-tools command that failed and `responseCode` is the TPM (or
 * TSS) response code it reported, when there was one.
 *
 * A stanza addressed to this TPM that does not authenticate (forged, corrupted, or moved from another
 * container) is not a `TpmError` but the container's opaque `AuthenticationFailedError`, as for
 * every other provider.
 *
 * @example
 * ```ts
 * try {
 *   await identity.unwrap(stanzas, ctx);
 * } catch (error) {
 *   if (error instanceof TpmError && error.code === 'ERR_TPM_POLICY') console.error('boot state changed');
 * }
 * ```
 */
export class TpmError extends OvsealError {
  declare readonly code: TpmErrorCode;
  readonly tool?: string;
  readonly responseCode?: number;

  constructor(code: TpmErrorCode, message: string, options?: { cause?: unknown; hint?: string; tool?: string; responseCode?: number }) {
    super(code, message, options);
    if (options?.tool !== undefined) this.tool = options.tool;
    if (options?.responseCode !== undefined) this.responseCode = options.responseCode;
  }
}
