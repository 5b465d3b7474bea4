/**
 * Orders model version strings for rollback protection.
 *
 * Semantic versions compare as SemVer 2.0 (a pre-release sorts before its release, build metadata
 * is ignored). Anything else compares "naturally": runs of digits as numbers, other runs as text,
 * so `7` < `10`, `2024-05-01` < `2024-06-01` and `v2` < `v10`.
 *
 * This is the default order of rollback protection; pass your own as `compareVersions`.
 *
 * @example
 * ```ts
 * compareVersions('1.10.0', '1.9.2'); // 1
 * compareVersions('2.0.0-rc.1', '2.0.0'); // -1
 * compareVersions('build-7', 'build-10'); // -1
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const semverA = parseSemver(a);
  const semverB = parseSemver(b);
  if (semverA && semverB) return compareSemver(semverA, semverB);
  return compareNatural(a, b);
}

interface Semver {
  readonly core: readonly bigint[];
  readonly prerelease: readonly string[];
}

const SEMVER = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function parseSemver(version: string): Semver | null {
  const match = SEMVER.exec(version);
  if (!match) return null;
  const [, major, minor, patch, prerelease] = match;
  return {
    core: [BigInt(major!), BigInt(minor!), BigInt(patch!)],
    prerelease: prerelease === undefined ? [] : prerelease.split('.'),
  };
}

function compareSemver(a: Semver, b: Semver): number {
  for (let i = 0; i < 3; i++) {
    const order = compareBig(a.core[i]!, b.core[i]!);
    if (order !== 0) return order;
  }
  // A release is newer than any of its pre-releases.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return Math.sign(b.prerelease.length - a.prerelease.length);
  }
  const length = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < length; i++) {
    const order = comparePrereleaseField(a.prerelease[i]!, b.prerelease[i]!);
    if (order !== 0) return order;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

function comparePrereleaseField(a: string, b: string): number {
  const numericA = /^\d+$/.test(a);
  const numericB = /^\d+$/.test(b);
  if (numericA && numericB) return compareBig(BigInt(a), BigInt(b));
  if (numericA !== numericB) return numericA ? -1 : 1;
  return compareText(a, b);
}

function compareNatural(a: string, b: string): number {
  const runsA = a.match(/\d+|\D+/g) ?? [];
  const runsB = b.match(/\d+|\D+/g) ?? [];
  const length = Math.min(runsA.length, runsB.length);
  for (let i = 0; i < length; i++) {
    const runA = runsA[i]!;
    const runB = runsB[i]!;
    const bothNumeric = /^\d/.test(runA) && /^\d/.test(runB);
    const order = bothNumeric ? compareBig(BigInt(runA), BigInt(runB)) : compareText(runA, runB);
    if (order !== 0) return order;
  }
  return Math.sign(runsA.length - runsB.length);
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
