// Types of @ovseal/test-fixtures/vitest (a plain .mjs module) as these tests use it.
declare module '@ovseal/test-fixtures/vitest' {
  export function describeWithPart<T>(name: string, part: T | Error, how: string, body: (part: T) => void): void;
}
