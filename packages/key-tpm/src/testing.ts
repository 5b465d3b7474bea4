/**
 * `@ovseal/key-tpm/testing`: the software TPM harness, for tests, demos and CI — kept off the
 * production entry (`@ovseal/key-tpm`), because it starts processes and installs an exit hook that
 * kills them. `@ovseal/testkit` re-exports it next to kms-local and the broker.
 */
export { startSwtpm } from './start-swtpm.js';
export type { SwtpmOptions, SwtpmInstance } from './start-swtpm.js';
export { checkSwtpmPrerequisites, SWTPM_INSTALL_LINE } from './check-swtpm-prerequisites.js';
export type { SwtpmPrerequisites } from './check-swtpm-prerequisites.js';
