// One lint config for every workspace. Type-aware rules need the TypeScript project service, which
// finds each package's tsconfig.json on its own.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/__generated__/**',
      '**/coverage/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
      // Handlers implement async interfaces; requiring an await in each only adds noise.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Command lines and their shell (bench/src/run-cli.ts) talk to the terminal.
    files: ['**/__tests__/**', '**/*.test.ts', '**/cli.ts', '**/run-cli.ts', '**/testing/**'],
    rules: { 'no-console': 'off' },
  },
  prettier,
);
