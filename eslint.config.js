// Lint rules CI enforces (test/architecture/lint.test.ts): what the compiler cannot see. Promises
// must be awaited, returned or handed to `void` on purpose (a floating promise loses its error).
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'src/dashboard/assets/', '**/*.cjs', '**/*.mjs', 'eslint.config.js'] },
  {
    files: ['src/**/*.ts', 'actors/**/*.ts', 'protocols/**/*.ts', 'sim/**/*.ts', 'test/**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
)
