/**
 * `@ovseal/testkit`: what a team's own integration tests need to exercise ovseal for real — a
 * software TPM, a KMS, sealed fixtures — in a few lines. The key broker is in
 * `@ovseal/testkit/broker` (it needs `@ovseal/key-broker` installed).
 */
export { startSwtpm, checkSwtpmPrerequisites, SWTPM_INSTALL_LINE } from '@ovseal/key-tpm/testing';
export type { SwtpmOptions, SwtpmInstance, SwtpmPrerequisites } from '@ovseal/key-tpm/testing';
export { startKmsLocal } from './start-kms-local.js';
export type { TestKms, TestKmsOptions } from './start-kms-local.js';
export { sealedFixture } from './sealed-fixture.js';
export type { SealedFixture, SealedFixtureOptions } from './sealed-fixture.js';
export { tinyIrModel } from './tiny-ir-model.js';
export type { TinyIrModel } from './tiny-ir-model.js';
