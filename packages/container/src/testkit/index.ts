/**
 * `@ovseal/container/testkit`: the key provider contract as checks every provider runs in its own
 * tests (and a third-party provider in its CI). Test code only: nothing here is needed to seal or
 * open a container.
 */
export { providerConformanceChecks } from './provider-conformance-checks.js';
export type { ProviderUnderTest, ConformanceCheck } from './provider-conformance-checks.js';
export { checkProviderConformance } from './check-provider-conformance.js';
export { ProviderConformanceError } from './provider-conformance-error.js';
