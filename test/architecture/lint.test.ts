// Goal: the code stays formatted one way and free of what the compiler cannot see: floating
// promises (an unawaited promise loses its error), promises where a value is expected, awaiting
// non-promises, and `any`. Method: the repository's prettier and eslint (eslint.config.js, with
// typescript-eslint's type-aware rules) over every TypeScript file, as CI runs them.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { sourceDir } from '../helpers/paths.js'

const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
const GLOBS = ['src/**/*.ts', 'actors/**/*.ts', 'protocols/**/*.ts', 'sim/**/*.ts', 'test/**/*.ts']

function run(bin: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules', bin), ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

test('prettier: every TypeScript file is formatted', { timeout: 300_000 }, () => {
  const { status, output } = run('prettier/bin/prettier.cjs', ['--list-different', ...GLOBS])
  assert.equal(status, 0, `files prettier would change (run \`npx prettier --write ${GLOBS.map((g) => `'${g}'`).join(' ')}\`):\n${output.slice(0, 4000)}`)
})

test('eslint: no floating promises, misused promises, awaited non-promises or any', { timeout: 600_000 }, () => {
  const { status, output } = run('eslint/bin/eslint.js', ['--max-warnings', '0', ...GLOBS])
  assert.equal(status, 0, output.slice(0, 8000))
})
