// Goal: whole simulation runs are deterministic (same seed, same trace hash, in one process and
// across processes; different seeds differ), tripwires catch real time and randomness, and the
// checkers catch broken invariants: safety and history checks, and liveness after the final heal.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { loadFailure, replay, saveFailure, shrink, toFailure } from '../../sim/failures.js'
import { runSimulation, type Scenario, type SimOptions } from '../../sim/run.js'
import { meshScenario } from '../../sim/scenarios/mesh/index.js'
import { BIN } from '../helpers/bin.js'

const run = promisify(execFile)
const base: SimOptions = {
  seed: 1,
  nodes: 5,
  durationMs: 60_000,
  faults: ['partition', 'crash', 'loss', 'skew', 'pause', 'reorder', 'duplicate', 'clog'],
  mode: 'safety',
  swarm: false,
}

test('the same seed gives the same trace hash; different seeds differ', async () => {
  const a = await runSimulation(meshScenario(), base)
  const b = await runSimulation(meshScenario(), base)
  const c = await runSimulation(meshScenario(), { ...base, seed: 2 })
  assert.equal(a.violations.length, 0, a.violations[0]?.message)
  assert.equal(a.traceHash, b.traceHash)
  assert.equal(a.events, b.events)
  assert.ok(a.events > 5000)
  assert.notEqual(a.traceHash, c.traceHash)
})

test('two processes running the same seeds print the same trace hashes (CLI)', async () => {
  const hashes = async (): Promise<string[]> => {
    const out: string[] = []
    for (const seed of [3, 4, 5]) {
      const { stdout } = await run(process.execPath, [
        BIN,
        'sim',
        'run',
        '--seed',
        String(seed),
        '--nodes',
        '5',
        '--duration',
        '30s',
        '--faults',
        'partition,crash,loss,skew,reorder',
      ])
      out.push(/trace-hash: (\w+)/.exec(stdout)![1]!)
    }
    return out
  }
  const [first, second] = await Promise.all([hashes(), hashes()])
  assert.deepEqual(first, second)
  assert.equal(new Set(first).size, 3)
})

test('sim check runs a seed twice and reports determinism; exit code 0', async () => {
  const { stdout } = await run(process.execPath, [BIN, 'sim', 'check', '--seed', '9', '--nodes', '3', '--duration', '20s'])
  assert.match(stdout, /deterministic: both runs \w+ over \d+ events/)
})

test('real time, timers or randomness used during a run are reported as violations', async () => {
  const cheat = (what: () => unknown): Scenario<null> => ({
    name: 'cheat',
    boot(ctx) {
      ctx.env.timers.schedule(10, () => void what())
      return null
    },
    invariants: [],
    final: [],
  })
  for (const [name, fn] of [
    ['Date.now', () => Date.now()],
    ['new Date()', () => new Date()],
    ['Math.random', () => Math.random()],
    ['setTimeout', () => setTimeout(() => {}, 1)],
    ['crypto.randomUUID', () => crypto.randomUUID()],
  ] as const) {
    const result = await runSimulation(cheat(fn), { ...base, nodes: 1, durationMs: 100, faults: [] })
    assert.equal(result.violations[0]?.invariant, 'no-uncaught-exception', name)
    assert.match(result.violations[0]!.message, /DeterminismViolation/, name)
  }
  assert.equal(typeof Date.now(), 'number', 'tripwires are removed after the run')
  assert.equal(typeof Math.random(), 'number')
})

test('a broken invariant is caught, saved, replayed exactly and shrunk', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-sim-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const options: SimOptions = { ...base, durationMs: 120_000, faults: ['crash', 'partition', 'loss'] }
  let failing
  for (let seed = 1; seed <= 30 && failing === undefined; seed++) {
    const result = await runSimulation(meshScenario({ bugs: ['lazy-persist'] }), { ...options, seed })
    if (result.violations.length > 0) failing = result
  }
  assert.ok(failing !== undefined, 'the lazy-persist bug loses acknowledged requests on some seed')
  assert.equal(failing.violations[0]!.invariant, 'no-lost-acks')
  const correct = await runSimulation(meshScenario(), { ...options, seed: failing.seed })
  assert.equal(correct.violations.length, 0, 'the same seed passes without the bug')

  const path = join(dir, 'failure.json')
  await saveFailure(path, toFailure(failing, 'mesh', ['lazy-persist']))
  const loaded = await loadFailure(path)
  assert.equal(loaded.repro, `distributex sim replay ${path}`)
  const again = await replay(loaded)
  assert.equal(again.traceHash, failing.traceHash)
  assert.equal(again.violations[0]?.invariant, 'no-lost-acks')

  const shrunk = await shrink(loaded)
  assert.ok(shrunk.schedule.length < loaded.schedule.length, `${loaded.schedule.length} -> ${shrunk.schedule.length}`)
  assert.ok(
    shrunk.schedule.some((a) => a.kind === 'crash' && a.node === 'n0'),
    'the ledger node’s crash is what matters',
  )
  const shrunkPath = join(dir, 'failure.shrunk.json')
  await saveFailure(shrunkPath, shrunk)
  const { stdout } = await run(process.execPath, [BIN, 'sim', 'replay', shrunkPath]).catch((e: { stdout: string; code: number }) => {
    assert.equal(e.code, 1)
    return e
  })
  assert.match(stdout, /reproduced exactly: no-lost-acks/)
})

test('liveness mode: the cluster converges after the final heal; a stuck client is caught', async () => {
  const ok = await runSimulation(meshScenario(), { ...base, mode: 'liveness', durationMs: 120_000 })
  assert.equal(ok.violations.length, 0, ok.violations[0]?.message)
  assert.ok(ok.liveness?.convergedAtMs !== undefined && ok.liveness.convergedAtMs <= ok.liveness.healedAtMs + ok.liveness.boundMs)
  const stuck = await runSimulation(meshScenario({ bugs: ['no-retry'] }), { ...base, mode: 'liveness', durationMs: 120_000, faults: ['partition', 'crash'] })
  assert.equal(stuck.violations[0]?.invariant, 'liveness')
})

test('swarm writes each failing seed to a file; exit code 1', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dx-swarm-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const failed = await run(process.execPath, [
    BIN,
    'sim',
    'swarm',
    '--seeds',
    '1..4',
    '--nodes',
    '3',
    '--duration',
    '60s',
    '--faults',
    'crash,partition',
    '--bug',
    'lazy-persist',
    '--out',
    dir,
    '--quiet',
    '--progress',
  ]).then(
    () => undefined,
    (e: { code: number; stdout: string; stderr: string }) => e,
  )
  assert.equal(failed?.code, 1)
  assert.match(failed!.stdout, /swarm: 4 seeds, \d passed, [1-4] failed/)
  assert.match(failed!.stderr, /seeds \[#{30}\] 4\/4 100%  [1-4] failed/, 'the progress bar reaches the end and counts failures')
  const saved = /saved: (\S+)/.exec(failed!.stdout)![1]!
  assert.equal((await loadFailure(saved)).violation.invariant, 'no-lost-acks')
  const harness = await run(process.execPath, [BIN, 'sim', 'run', '--seed', 'x']).catch((e: { code: number }) => e)
  assert.equal((harness as { code: number }).code, 3)
})

test('an online invariant stops the run at the event that breaks it', async () => {
  const options: SimOptions = { ...base, durationMs: 30_000, faults: [], schedule: [{ atMs: 1000, kind: 'links', lossRate: 0, duplicateRate: 0, reorderRate: 0.3 }] }
  const buggy = await runSimulation(meshScenario({ heartbeatMs: 2, bugs: ['stale-heartbeats'] }), options)
  const v = buggy.violations[0]
  assert.equal(v?.invariant, 'heartbeat-views-monotonic')
  assert.ok(v!.atMs < options.durationMs, `caught at ${v!.atMs} ms, before the end`)
  assert.match(v!.message, /view of n\d went back/)
  const correct = await runSimulation(meshScenario({ heartbeatMs: 2 }), options)
  assert.equal(correct.violations.length, 0)
})
