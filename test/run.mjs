#!/usr/bin/env node
// Runs the whole suite with node:test under tsx: every *.test.ts below test/ (or those whose path
// contains one of the arguments, e.g. `node test/run.mjs actor/`). Files named *.solo.test.ts load
// the whole machine (dozens of peer processes), so they run after the others, one at a time, where
// they can neither starve nor be starved by a timing-sensitive test.
//
// First it type-checks the whole tree and compiles it into test/artifacts/build (one tsc run does
// both), libp2p bundled as `npm run build` bundles it; the test files run from that build, and so
// do the peers and CLI runs they start, as users run the installed package (test/helpers/bin.ts).
// A file run through tsx pays its loader in every test process (0.3 CPU s for a small one).
import { spawn, spawnSync } from 'node:child_process'
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
const build = join(root, 'artifacts', 'build')
const tsc = join(root, '..', 'node_modules', 'typescript', 'bin', 'tsc')
const compiled = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
if (compiled.status !== 0) process.exit(compiled.status ?? 1)
const bundled = spawnSync(process.execPath, [join(root, '..', 'src', 'build-bundle.mjs'), build], { stdio: 'inherit' })
if (bundled.status !== 0) process.exit(bundled.status ?? 1)
process.env.DX_TEST_BUILD = build

const concurrency = process.env.TEST_CONCURRENCY ?? '2'
const solo = files.filter((f) => f.endsWith('.solo.test.ts'))
// The simulator's seed swarms are the longest files (up to a few minutes each): started first, the
// many short files fill in behind them, instead of the run ending on one long file with a core idle.
const simFirst = (f) => (relative(root, f).startsWith('sim/') ? 0 : 1)
const shared = files.filter((f) => !solo.includes(f)).sort((a, b) => simFirst(a) - simFirst(b) || a.localeCompare(b))
const built = (f) => join(build, relative(join(root, '..'), f)).replace(/\.ts$/, '.js')
// A test without its own timeout fails after 10 minutes, and each run has a budget: a file that
// cannot exit (a child process or handle left behind) ends the run with a message saying so,
// instead of holding CI until its own limit (90 minutes) with nothing to show. The run is its own
// process group, so the budget's kill takes the test files and the peers they started with it.
const runFiles = (list, n, budgetMin) => {
  if (list.length === 0) return Promise.resolve(0)
  const args = ['--test', `--test-concurrency=${n}`, '--test-timeout=600000', '--test-reporter=spec', ...list.map(built)]
  const run = spawn(process.execPath, args, { stdio: 'inherit', detached: true })
  // Out of the terminal's group, the run would miss a Ctrl-C: pass it on.
  const stop = (signal) => process.kill(-run.pid, signal)
  process.on('SIGINT', stop).on('SIGTERM', stop)
  const budget = setTimeout(() => {
    console.error(`test run stopped after its budget of ${budgetMin} minutes: a test file did not exit (a child process or handle left open?)`)
    process.kill(-run.pid, 'SIGKILL')
  }, budgetMin * 60_000)
  return new Promise((resolve) =>
    run.on('exit', (code) => {
      clearTimeout(budget)
      process.off('SIGINT', stop).off('SIGTERM', stop)
      resolve(code ?? 1)
    }),
  )
}
const sharedStatus = await runFiles(shared, concurrency, 45)
const soloStatus = await runFiles(solo, '1', 20)
process.exit(sharedStatus !== 0 ? sharedStatus : soloStatus)
