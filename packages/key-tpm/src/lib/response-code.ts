import { TpmError, type TpmErrorCode } from '../tpm-error.js';

/**
 * Turns a failed tpm2-tools run into a typed error. The tools print the TSS/TPM response code as
 * `Esys_Unseal(0x99D)` or `ErrorCode (0x0000099d)`; the code decides the type, the last `ERROR:` line
 * becomes the message.
 */

const TSS_LAYER_SHIFT = 16;
const TCTI_LAYER = 0x0a;
const RC_FMT1 = 0x080;

// Format-one base codes (bits 0-5 | 0x80; the parameter/handle/session number sits in bits 8-11).
const FMT1_AUTH_FAIL = 0x08e;
const FMT1_BAD_AUTH = 0x0a2;
const FMT1_POLICY_FAIL = 0x09d;
const FMT1_HANDLE = 0x08b;
// Format-zero and warning codes.
const RC_POLICY = 0x126;
const RC_PCR_CHANGED = 0x128;
const RC_INITIALIZE = 0x100;
const RC_LOCKOUT = 0x921;
const RC_OBJECT_MEMORY = 0x902;
const RC_SESSION_MEMORY = 0x903;
const RC_REFERENCE_H0 = 0x910;
const RC_REFERENCE_S6 = 0x91e;

/** The format-one base (without its parameter number), or the code itself for format zero. */
export function baseResponseCode(rc: number): number {
  const tpm = rc & 0xfff;
  return tpm & RC_FMT1 ? tpm & 0xbf : tpm;
}

export function isTpmLayer(rc: number): boolean {
  return rc >>> TSS_LAYER_SHIFT === 0;
}

/** The TPM-layer response code a tool reported (the last one: inner layers print first). */
export function responseCodeOf(stderr: string): number | undefined {
  let found: number | undefined;
  for (const match of stderr.matchAll(/(?:ErrorCode \(|[A-Za-z_]+\()0x([0-9a-fA-F]{1,8})\)/g)) {
    const rc = Number.parseInt(match[1]!, 16);
    if (found === undefined || isTpmLayer(rc) || !isTpmLayer(found)) found = rc;
  }
  return found;
}

function lastErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const errors = lines.filter((line) => line.startsWith('ERROR:') && !line.startsWith('ERROR:esys:') && !line.startsWith('ERROR:tcti:'));
  const line = errors.find((l) => /\(0x[0-9a-f]+\)/i.test(l)) ?? errors[0] ?? lines.at(-1) ?? 'no output';
  return line.replace(/^ERROR:\s*/, '');
}

function classify(rc: number | undefined, stderr: string): { code: TpmErrorCode; hint?: string } {
  if (
    /Could not load tcti|Failed to instantiate TCTI|Cannot connect to/i.test(stderr) ||
    (rc !== undefined && rc >>> TSS_LAYER_SHIFT === TCTI_LAYER)
  ) {
    return {
      code: 'ERR_TPM_UNREACHABLE',
      hint: 'check the TCTI (e.g. swtpm:host=127.0.0.1,port=2321 or device:/dev/tpmrm0) and that the TPM or swtpm is running and accessible to this user',
    };
  }
  if (rc === undefined || !isTpmLayer(rc)) return { code: 'ERR_TPM_COMMAND' };
  const base = baseResponseCode(rc);
  if (base === FMT1_POLICY_FAIL || base === RC_POLICY || base === RC_PCR_CHANGED) {
    return {
      code: 'ERR_TPM_POLICY',
      hint: 'the PCR values (the boot state) differ from the ones the key was bound to; seal or enroll again in the new state if the change is expected',
    };
  }
  if (base === FMT1_AUTH_FAIL || base === FMT1_BAD_AUTH) return { code: 'ERR_TPM_AUTH' };
  if (base === RC_LOCKOUT)
    return { code: 'ERR_TPM_AUTH', hint: 'the TPM is in dictionary-attack lockout: wait, or reset it with tpm2_dictionarylockout -c' };
  if (base === FMT1_HANDLE || (base >= RC_REFERENCE_H0 && base <= RC_REFERENCE_S6)) {
    return { code: 'ERR_TPM_OBJECT_NOT_FOUND', hint: 'list persistent handles with tpm2_getcap handles-persistent' };
  }
  if (base === RC_OBJECT_MEMORY || base === RC_SESSION_MEMORY) {
    return {
      code: 'ERR_TPM_COMMAND',
      hint: 'the TPM is out of object or session slots: without a resource manager, flush them with tpm2_flushcontext -t and -l',
    };
  }
  if (base === RC_INITIALIZE) return { code: 'ERR_TPM_COMMAND', hint: 'the TPM was not started: run tpm2_startup -c' };
  return { code: 'ERR_TPM_COMMAND' };
}

export function errorFromToolFailure(tool: string, exitCode: number | null, stderr: string): TpmError {
  const rc = responseCodeOf(stderr);
  const { code, hint } = classify(rc, stderr);
  const detail = lastErrorLine(stderr);
  return new TpmError(code, `${tool} failed (exit ${exitCode ?? 'signal'}): ${detail}`, {
    tool,
    ...(rc === undefined ? {} : { responseCode: rc }),
    ...(hint === undefined ? {} : { hint }),
  });
}

const MU_LAYER = 0x09;
const RC_FAILURE = 0x101;

/**
 * True when the TPM (or the TSS unmarshalling for it) refused the bytes taken from a stanza — a
 * forged or corrupted stanza, to be reported as an authentication failure, not as a TPM fault.
 * Format-one codes name a bad parameter; libtpms answers a failed OAEP decoding with TPM_RC_FAILURE.
 */
export function rejectsStanzaInput(error: unknown, tool: string, options: { failureToo?: boolean } = {}): boolean {
  if (!(error instanceof TpmError) || error.code !== 'ERR_TPM_COMMAND' || error.tool !== tool || error.responseCode === undefined)
    return false;
  // A saved parent context that no longer loads is the TPM's state, not the stanza's (see withParent).
  if (error.message.includes('ContextLoad')) return false;
  const rc = error.responseCode;
  if (rc >>> TSS_LAYER_SHIFT === MU_LAYER) return true;
  if (!isTpmLayer(rc)) return false;
  const tpm = rc & 0xfff;
  return (tpm & RC_FMT1) !== 0 || (options.failureToo === true && tpm === RC_FAILURE);
}
