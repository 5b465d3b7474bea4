// Types of @ovseal/test-fixtures (a plain .mjs package) as these tests use it.
declare module '@ovseal/test-fixtures' {
  export const ocrModels: Readonly<{ detector: string; recognizer: string; classifier: string; labels: string }>;
  export function tinyIr(options?: { shape?: number[]; addend?: number[] | number; name?: string }): {
    xml: string;
    weights: Uint8Array;
  };
  export function writeTinyIr(
    dir: string,
    options?: { shape?: number[]; addend?: number[] | number; name?: string },
  ): {
    xml: string;
    bin: string;
  };
  export function sharedFixturesDir(): string;
}
declare module '@ovseal/test-fixtures/vitest' {
  export function describeWithPart<T>(name: string, part: T | Error, how: string, body: (part: T) => void): void;
}
