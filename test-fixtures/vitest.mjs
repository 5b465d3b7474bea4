// Test helpers that need vitest (kept apart from index.mjs, which scripts and benchmarks import).
import { describe, test } from 'vitest';

const required = () => process.env.OVSEAL_REQUIRE_ALL === '1' || process.env.OVSEAL_REQUIRE_OPENVINO === '1';

/**
 * `describe(name, () => body(part))` when a real part (a runtime, a server) is available; otherwise
 * a loud skip that says why and `how` to get it, or, where the part is required (CI:
 * OVSEAL_REQUIRE_ALL=1; OVSEAL_REQUIRE_OPENVINO=1), a failing test.
 * @template T
 * @param {string} name
 * @param {T | Error} part the part, or the Error that says why it is missing
 * @param {string} how
 * @param {(part: T) => void} body
 */
export function describeWithPart(name, part, how, body) {
  if (!(part instanceof Error)) {
    describe(name, () => body(part));
    return;
  }
  const reason = `${name}: ${part.message.split('\n')[0]}; ${how}`;
  if (required()) {
    test(`${name}: required here, but missing`, () => {
      throw new Error(reason);
    });
    return;
  }
  console.warn(`\n!!! SKIPPED ${reason}\n`);
  test.skip(`${name} (SKIPPED: ${reason})`, () => undefined);
}
