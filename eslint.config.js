// Lint: typescript-eslint's recommended rules plus the layering of docs/architecture.md:
// core and usecases stay pure (no SDK, no adapters), functions never reach into adapters.
import tseslint from 'typescript-eslint';

const sdk = { group: ['@azure/*'], message: 'Only shared/adapters may import Azure SDKs.' };
const adapters = { group: ['**/adapters/**'], message: 'Depend on shared/ports.ts, not on an adapter.' };
const settings = { group: ['**/wiring*', '**/config*'], message: 'core and usecases receive settings as arguments.' };
const ports = { group: ['**/ports*'], message: 'core holds plain data and logic: its records live in shared/core, the ports depend on them, not the reverse.' };
// Written on the specifier's text, so each also catches the roundabout spellings (`./common/../x`,
// `../../shared/usecases/x`, `./../x`).
const entryFromEntry = {
  regex: '^\\./(?!common/)|^\\./common/(.*/)?\\.\\./|(^|/)usecases/(?!common/)',
  message: 'An entry use case does not import another use case: move what they share to shared/usecases/common/.',
};
const entryFromCommon = {
  regex: '^(\\./)?\\.\\./(?!\\.\\./)|(^|/)usecases/(?!common/)',
  message: 'shared/usecases/common serves the entry use cases and never imports one.',
};
const pure = {
  'no-restricted-globals': ['error', { name: 'process', message: 'No environment or process access in core/usecases.' }],
  'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Use the Clock port.' }],
};

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
    files: ['shared/ports.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [sdk, adapters, settings] }], ...pure },
  },
  {
    // The entry use cases (what a function calls) never import each other: what they share lives in shared/usecases/common.
    files: ['shared/usecases/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [sdk, adapters, settings, entryFromEntry] }], ...pure },
  },
  {
    files: ['shared/usecases/common/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [sdk, adapters, settings, entryFromCommon] }], ...pure },
  },
  {
    files: ['shared/core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [sdk, adapters, settings, ports] }], ...pure },
  },
  {
    // shared/ports.ts holds port interfaces (dependencies with methods) and their constants only; data
    // records and unions live in shared/core and are imported from there, never re-exported here.
    files: ['shared/ports.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'TSTypeAliasDeclaration', message: 'A data type or union belongs in shared/core, not in shared/ports.ts.' },
        { selector: 'TSInterfaceDeclaration:not(:has(TSMethodSignature))', message: 'An interface without methods is a data record: it belongs in shared/core, not in shared/ports.ts.' },
        { selector: 'TSEnumDeclaration', message: 'An enum is data: it belongs in shared/core.' },
        { selector: 'ExportNamedDeclaration[source]', message: 'shared/ports.ts does not re-export; import records from shared/core.' },
        { selector: 'ExportNamedDeclaration:not([declaration])', message: 'shared/ports.ts exports only what it declares (no export lists, which could pass on an import).' },
        { selector: 'ExportAllDeclaration', message: 'shared/ports.ts does not re-export; import records from shared/core.' },
      ],
    },
  },
  {
    files: ['functions/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [adapters] }],
      // A function file's handler is `handle<FunctionName><Trigger>`, so it never shadows its use case (no import aliases).
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ExportNamedDeclaration > FunctionDeclaration[id.name!=/^handle[A-Z][A-Za-z]*(Timer|Message|Request|Events)$/]',
          message: 'Name a function handler handle<FunctionName><Timer|Message|Request|Events>.',
        },
      ],
    },
  },
);
