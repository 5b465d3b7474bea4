import { inspect } from 'node:util';
import { ProviderConformanceError } from './provider-conformance-error.js';
import { providerConformanceChecks, type ProviderUnderTest } from './provider-conformance-checks.js';

/**
 * Runs every {@link providerConformanceChecks} check and throws one
 * {@link ProviderConformanceError} that lists each failure (for a script or a single test).
 *
 * @example
 * ```ts
 * await checkProviderConformance({ name: 'my-kms', recipient, identity, otherIdentity });
 * ```
 */
export async function checkProviderConformance(subject: ProviderUnderTest): Promise<void> {
  const failures: { check: string; problem: string }[] = [];
  for (const check of providerConformanceChecks(() => subject)) {
    try {
      await check.run();
    } catch (error) {
      failures.push({ check: check.name, problem: error instanceof Error ? error.message : inspect(error) });
    }
  }
  if (failures.length > 0) throw new ProviderConformanceError(subject.name, failures);
}
