// Goal: the API reference (`npm run docs`, TypeDoc over the package's entry points) builds without a
// warning, so every type the public API mentions is itself public and documented, and internals
// (@internal) stay out. Method: TypeDoc with the repository's options, emitting nothing.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { sourceDir } from '../helpers/paths.js'

const ROOT = join(sourceDir(import.meta.dirname), '..', '..')

test('TypeDoc builds the API reference of ., ./client and ./sim with no warning', { timeout: 180_000 }, async () => {
  const typedoc = join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc')
  const result = await promisify(execFile)(process.execPath, [typedoc, '--options', join(ROOT, 'src', 'typedoc.json'), '--emit', 'none'], { cwd: ROOT }).then(
    (r) => ({ code: 0, output: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
  )
  assert.equal(result.code, 0, result.output)
  assert.doesNotMatch(result.output, /\[warning\]/)
})
