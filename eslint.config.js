// Lint: typescript-eslint's recommended rules plus the layering of docs/architecture.md:
// core and usecases stay pure (no SDK, no adapters), functions never reach into adapters.
import tseslint from 'typescript-eslint';

const sdk = { group: ['@azure/*'], message: 'Only shared/adapters may import Azure SDKs.' };
const adapters = { group: ['**/adapters/**'], message: 'Depend on shared/ports.ts, not on an adapter.' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.ci/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['shared/core/**/*.ts', 'shared/usecases/**/*.ts', 'shared/ports.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [sdk, adapters, { group: ['**/wiring*', '**/config*'], message: 'core and usecases receive settings as arguments.' }] }],
      'no-restricted-globals': ['error', { name: 'process', message: 'No environment or process access in core/usecases.' }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Use the Clock port.' }],
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [adapters] }] },
  },
);
