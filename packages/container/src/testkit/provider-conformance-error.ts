import { OvsealError } from '../errors.js';

/** A key provider broke the `Recipient`/`Identity` contract (what {@link checkProviderConformance} found). */
export class ProviderConformanceError extends OvsealError {
  declare readonly code: 'ERR_PROVIDER_CONFORMANCE';
  /** The names of the checks that failed, with what each found. */
  readonly failures: readonly { readonly check: string; readonly problem: string }[];

  constructor(provider: string, failures: readonly { check: string; problem: string }[]) {
    const lines = failures.map((failure) => `- ${failure.check}: ${failure.problem}`);
    super('ERR_PROVIDER_CONFORMANCE', `${provider} breaks the provider contract:\n${lines.join('\n')}`);
    this.failures = failures;
  }
}
