// `npm run lint`: typescript-eslint's recommended rules here, formatting by prettier (.prettierrc.json).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/', '.test-tmp/', 'coverage/', 'examples/**/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Terminals and shells are full of control characters; matching them is the point.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests and benchmarks read JSON answers of any shape.
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Run by VS Code's extension host as CommonJS.
    files: ['test/vscode/suite/**/*.js', 'bench/vscode/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off', 'no-redeclare': ['error', { builtinGlobals: false }] },
  },
  {
    files: ['src/web/**', 'media/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
