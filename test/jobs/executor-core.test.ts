// Goal: the executor core's rules with no actors or timers: attempts wait per type for a free
// worker in arrival order, one copy per job, an unknown type fails at once, an attempt the leader
// aborted reports nothing, progress is throttled, finished reports survive a failed send and
// progress reports do not, and the gossiped stats match the pools at every step.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ExecutorCore, PROGRESS_INTERVAL_MS } from '../../src/jobs/executor-core.js'
import { ExecutorStats } from '../../src/jobs/executor-stats.js'
import { resolveJobOptions } from '../../src/jobs/options.js'
import type { Assignment } from '../../src/jobs/protocol.js'

const assignment = (id: string, type = 't', attemptKey = `1.${id}`): Assignment => ({
  spec: { id, type, input: null, options: resolveJobOptions({}), submittedAt: 0 },
  attempt: 1,
  attemptKey,
})

function executor(workers = ['w1', 'w2']): { core: ExecutorCore<string>; stats: ExecutorStats } {
  const stats = new ExecutorStats()
  const core = new ExecutorCore<string>(stats)
  core.addPool('t', workers)
  return { core, stats }
}

const ok = { ok: true as const, value: 1 }

test('attempts start on free workers and wait in arrival order; the stats follow', () => {
  const { core, stats } = executor()
  assert.deepEqual([stats.capacity, stats.types], [2, ['t']])
  const started = ['a', 'b', 'c', 'd'].flatMap((id) => core.accept(assignment(id)))
  assert.deepEqual(
    started.map((s) => [s.run.spec.id, s.worker]),
    [
      ['a', 'w2'],
      ['b', 'w1'],
    ],
  )
  assert.deepEqual([stats.running, stats.queued], [2, 2])
  const next = core.finished(started[1]!.run, 'w1', ok, 5, false)
  assert.deepEqual(
    next.map((s) => [s.run.spec.id, s.worker]),
    [['c', 'w1']],
    'the first waiting attempt takes the freed worker',
  )
  assert.deepEqual([stats.running, stats.queued], [2, 1])
  assert.equal(stats.summary().t?.count, 1)
  core.close()
  assert.deepEqual([stats.capacity, stats.types], [0, []])
})

test('a second assignment of a job here re-keys it instead of running a copy', () => {
  const { core } = executor()
  const [first] = core.accept(assignment('a', 't', '1.1'))
  assert.deepEqual(core.accept(assignment('a', 't', '2.7')), [])
  core.finished(first!.run, first!.worker, ok, 1, false)
  const [report] = core.takeBatch()
  assert.deepEqual(report, { kind: 'finished', id: 'a', attemptKey: '2.7', outcome: ok, durationMs: 1 })
})

test('a type this peer does not run is reported failed at once, to be retried elsewhere', () => {
  const { core, stats } = executor()
  assert.deepEqual(core.accept(assignment('a', 'other')), [])
  assert.equal(stats.queued, 0)
  const [report] = core.takeBatch()
  assert.ok(report?.kind === 'finished' && !report.outcome.ok)
  assert.deepEqual([report.outcome.error.name, report.outcome.error.code, report.outcome.permanent], ['UnknownJobTypeError', 'ERR_UNKNOWN_JOB_TYPE', false])
})

test('the leader aborts a waiting or running attempt under its key only; an aborted attempt reports nothing', () => {
  const { core, stats } = executor(['w1'])
  const [running] = core.accept(assignment('a'))
  core.accept(assignment('b'))
  assert.equal(core.abort('b', 'wrong key'), undefined)
  assert.equal(core.abort('b', '1.b')?.spec.id, 'b')
  assert.equal(stats.queued, 0, 'a waiting attempt leaves the queue')
  assert.equal(core.abort('a', '1.a'), running!.run)
  assert.deepEqual(core.finished(running!.run, 'w1', ok, 3, true), [], 'nothing waits: b was aborted')
  assert.equal(core.readyToSend, false, 'the aborted attempt reported nothing')
  assert.deepEqual([stats.running, stats.queued], [0, 0])
})

test('progress is throttled per attempt and ignores fractions that are not numbers', () => {
  const { core } = executor()
  const [s] = core.accept(assignment('a'))
  core.progress(s!.run, 0.1, null, 1000)
  core.progress(s!.run, 0.2, null, 1000 + PROGRESS_INTERVAL_MS - 1)
  core.progress(s!.run, NaN, null, 5000)
  core.progress(s!.run, 0.3, 'later', 1000 + PROGRESS_INTERVAL_MS)
  assert.deepEqual(
    core.takeBatch().map((r) => (r.kind === 'progress' ? [r.fraction, r.message] : r.kind)),
    [
      [0.1, null],
      [0.3, 'later'],
    ],
  )
})

test('one batch in flight; a failed send keeps the finished reports, first, and drops progress', () => {
  const { core } = executor()
  const [a, b] = [...core.accept(assignment('a')), ...core.accept(assignment('b'))]
  core.progress(a!.run, 0.5, null, 0)
  core.finished(a!.run, a!.worker, ok, 1, false)
  const batch = core.takeBatch()
  assert.equal(batch.length, 2)
  assert.equal(core.readyToSend, false)
  core.finished(b!.run, b!.worker, ok, 2, false)
  assert.equal(core.waitingReports, 1)
  assert.equal(core.readyToSend, false, 'not while a batch is in flight')
  assert.throws(() => core.takeBatch(), { name: 'AssertionFailure', message: /a second batch while one is in flight, or an empty one/ })
  core.undelivered(batch)
  assert.deepEqual(
    core.takeBatch().map((r) => `${r.kind}:${r.id}`),
    ['finished:a', 'finished:b'],
  )
  core.delivered()
  assert.equal(core.readyToSend, false)
})

test('release (work stealing): only an attempt still queued under that key is given up; one a worker took stays and reports', () => {
  const { core, stats } = executor(['w1'])
  const started = ['a', 'b', 'c'].flatMap((id) => core.accept(assignment(id)))
  assert.deepEqual(
    started.map((s) => s.run.spec.id),
    ['a'],
  )
  assert.equal(core.release('a', '1.a'), false, 'a is running: it stays')
  assert.equal(core.release('b', '1.other'), false, 'another attempt key: it stays')
  assert.equal(core.release('b', '1.b'), true, 'b was waiting: given up')
  assert.equal(core.release('b', '1.b'), false, 'once')
  assert.deepEqual([stats.running, stats.queued], [1, 1])

  // The race: c takes the freed worker just before the leader's request arrives; the answer is no.
  const next = core.finished(started[0]!.run, 'w1', ok, 5, false)
  assert.deepEqual(
    next.map((s) => s.run.spec.id),
    ['c'],
    'b, given up, never starts here',
  )
  assert.equal(core.release('c', '1.c'), false, 'c already started')
  assert.deepEqual([stats.running, stats.queued], [1, 0])
  assert.deepEqual(core.abort('b', '1.b'), undefined, 'nothing of b is left to abort')
  core.finished(next[0]!.run, 'w1', ok, 5, false)
  assert.deepEqual(
    core.takeBatch().map((r) => `${r.kind}:${r.id}`),
    ['released:b', 'finished:a', 'finished:c'],
    'the given-up attempt reports its release only, and no outcome',
  )
  // A newer attempt of a job here replaces the key: a request about the older one is refused.
  core.delivered()
  core.accept(assignment('d'))
  core.accept(assignment('e'))
  core.accept(assignment('e', 't', '2.e'))
  assert.equal(core.release('e', '1.e'), false)
  assert.equal(core.release('e', '2.e'), true)
})

test('a pool per type, no bigger per attempt than its workers, and no attempt finished twice', () => {
  const { core } = executor()
  assert.throws(() => core.addPool('t', ['w3']), { name: 'AssertionFailure', message: /two pools for one job type/ })
  for (const slots of [0, 1.5, 3])
    assert.throws(() => core.addPool('u', ['w3', 'w4'], slots), { name: 'AssertionFailure', message: /a job type takes more slots than it has workers/ })
  const [start] = core.accept(assignment('a'))
  core.finished(start!.run, start!.worker, ok, 1, false)
  assert.throws(() => core.finished(start!.run, start!.worker, ok, 1, false), { name: 'AssertionFailure', message: /more attempts finished than started/ })
})

test('a release is reported like a result: sent again until acknowledged, so a steal answer the leader stopped waiting for is not lost', () => {
  const { core } = executor(['w1'])
  core.accept(assignment('a'))
  core.accept(assignment('b'))
  assert.equal(core.release('b', '1.b'), true)
  const batch = core.takeBatch()
  assert.deepEqual(
    batch.map((r) => `${r.kind}:${r.id}:${r.attemptKey}`),
    ['released:b:1.b'],
  )
  core.undelivered(batch)
  assert.deepEqual(
    core.takeBatch().map((r) => `${r.kind}:${r.id}`),
    ['released:b'],
    'kept after a failed delivery',
  )
})
