// ESLint (flat config): typescript-eslint's recommended rules, plus the layering rules of design.md §2.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const runnerImports = ['**/runners/*', '!**/runners/index.js'];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'cubes/mnist/dist/',
      'cubes/mnist/dist-test/',
      'cubes/mnist/image/',
      'cubes/mnist/node_modules/',
      'workspace/',
      'cubes/*/workspace/',
      'test/fixtures/',
      '**/*.generated.*',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_`-prefixed names are deliberately unused (interface shapes, ignored tuple slots).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Layering: src/ reaches runners only through the registry (runners/index.ts); only src/cli speaks oclif.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: runnerImports, message: 'src/ reaches runners only through runners/index.js (the registry).' },
            { group: ['@oclif/*'], message: 'Only src/cli imports oclif.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // The package index evaluates help, ux, spinners and semver at load: oclif is imported by sub-path.
          paths: [{ name: '@oclif/core', message: 'Import oclif by sub-path (@oclif/core/command, /flags, /config...).' }],
          patterns: [{ group: runnerImports, message: 'src/ reaches runners only through runners/index.js (the registry).' }],
        },
      ],
    },
  },
  {
    // The pure core imports no runner and starts no process.
    files: ['src/config/**/*.ts', 'src/params/**/*.ts', 'src/plan/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['execa', 'dockerode', 'node:child_process', 'child_process'].map((name) => ({ name, message: 'The pure core (config, params, plan) starts no process.' })),
          patterns: [
            { group: ['**/runners/**'], message: 'The pure core imports no runner.' },
            { group: ['@oclif/*'], message: 'Only src/cli imports oclif.' },
          ],
        },
      ],
    },
  },
  { languageOptions: { globals: globals.node } },
  // Tests forge and truncate records on purpose: `any` is how they reach into JSON of the wrong shape.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
