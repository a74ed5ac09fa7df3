#!/usr/bin/env node
// Runs the whole suite with node:test under tsx: every *.test.ts below test/ (or those whose path
// contains one of the arguments, e.g. `node test/run.mjs actor/`).
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(fileURLToPath(import.meta.url))
const filters = process.argv.slice(2)

function collect(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return entry === 'bench' || entry === 'fixtures' ? [] : collect(path)
    return entry.endsWith('.test.ts') ? [path] : []
  })
}

const files = collect(root)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
  .sort()
if (files.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2'
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], { stdio: 'inherit' })
process.exit(result.status ?? 1)
