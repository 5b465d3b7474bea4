// ESLint over every package's sources, tests, scripts and benchmarks (`pnpm lint`; `pnpm check`,
// which `pnpm test` runs first, includes it). TypeScript gets typescript-eslint's type-aware
// recommended rules (the project service reads each package's tsconfig: src/ and test/); plain
// .mjs scripts get ESLint's recommended rules. No formatting rules: Prettier owns layout
// (`pnpm format`), and the repository has not been reformatted yet.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/coverage/**',
      '.venv-openvino*/**',
      'test-fixtures/generated/**',
      'tests/.readme-examples/**',
    ],
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node, ecmaVersion: 2022, sourceType: 'module' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Provider and store methods are `async` by contract (Recipient.wrap, Identity.unwrap, …)
      // even where one implementation has nothing to await: the promise is the interface.
      '@typescript-eslint/require-await': 'off',
      // `const { secret: _dropped, ...rest } = value` is how an object is copied without a field.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // `'owner' | string` documents the special value a string may take; it is not a mistake.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // A caught error is passed on as it is (it was an Error or the callee's own choice).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Tests read JSON answers, CLI output and parsed protocol messages whose shape is what they
    // assert: `any` flowing through them is the point, not a hole.
    files: ['**/test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Build and test configuration files belong to no package's tsconfig: linted without types.
    files: ['**/vitest.config.ts', 'vitest.*.ts', 'scripts/**/*.ts'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { parserOptions: { projectService: false } },
  },
);
