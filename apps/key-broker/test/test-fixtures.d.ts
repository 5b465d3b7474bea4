// Types of @ovseal/test-fixtures (a plain .mjs package) as these tests use it.
declare module '@ovseal/test-fixtures' {
  export const ocrModels: Readonly<{ detector: string; recognizer: string; classifier: string; labels: string }>;
}
