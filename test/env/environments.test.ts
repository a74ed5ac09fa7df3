// Goal: the manual binding orders timers by (due, scheduling order) and supports abort; the real
// binding honours the same contract on Node's clock.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualEnvironment } from '../../src/env/manual.js'
import { realEnvironment } from '../../src/env/real.js'
import { JsonLogger } from '../../src/env/logger.js'

test('manual timers fire in due order, ties in scheduling order, and only when time moves', async () => {
  const env = new ManualEnvironment()
  const fired: string[] = []
  env.timers.schedule(20, () => fired.push('b'))
  env.timers.schedule(10, () => fired.push('a'))
  env.timers.schedule(20, () => fired.push('c'))
  const cancelled = env.timers.schedule(15, () => fired.push('x'))
  env.timers.cancel(cancelled)
  env.timers.cancel(cancelled)
  assert.deepEqual(fired, [])
  await env.advance(15)
  assert.deepEqual(fired, ['a'])
  assert.equal(env.clock.monotonicMs(), 15)
  await env.advance(10)
  assert.deepEqual(fired, ['a', 'b', 'c'])
  assert.equal(env.pendingTimers, 0)
})

test('a timer scheduled by a timer at the same instant runs in the same advance', async () => {
  const env = new ManualEnvironment()
  const fired: number[] = []
  env.timers.schedule(5, () => env.timers.schedule(0, () => fired.push(env.now)))
  await env.advance(5)
  assert.deepEqual(fired, [5])
})

test('promise continuations started by a timer settle before the next timer', async () => {
  const env = new ManualEnvironment()
  const log: string[] = []
  env.timers.schedule(1, () => {
    void (async () => {
      for (let i = 0; i < 20; i++) await Promise.resolve()
      log.push('deep continuation')
    })()
  })
  env.timers.schedule(2, () => log.push('next timer'))
  await env.advance(2)
  assert.deepEqual(log, ['deep continuation', 'next timer'])
})

test('manual sleep resolves on time and rejects with AbortedError when aborted', async () => {
  const env = new ManualEnvironment()
  let slept = false
  const s = env.timers.sleep(100).then(() => (slept = true))
  await env.advance(100)
  await s
  assert.equal(slept, true)
  const controller = new AbortController()
  const aborted = env.timers.sleep(100, { signal: controller.signal })
  controller.abort('stop')
  await assert.rejects(aborted, { name: 'AbortedError', cause: 'stop' })
  assert.equal(env.pendingTimers, 0)
  await assert.rejects(env.timers.sleep(1, { signal: AbortSignal.abort('early') }), { name: 'AbortedError' })
})

test('the wall clock starts where asked and moves with manual time', async () => {
  const env = new ManualEnvironment({ wallStartMs: 1000 })
  await env.advance(250)
  assert.equal(env.clock.wallMs(), 1250)
})

test('real timers: zero delay runs after current I/O turn, cancel works, sleep aborts', async () => {
  const env = realEnvironment({ logSink: () => {} })
  const order: string[] = []
  const h = env.timers.schedule(0, () => order.push('cancelled'))
  env.timers.cancel(h)
  const t = env.timers.schedule(5, () => order.push('cancelled-timeout'))
  env.timers.cancel(t)
  await new Promise<void>((resolve) => env.timers.schedule(0, () => resolve()))
  await env.timers.sleep(10)
  assert.deepEqual(order, [])
  const start = env.clock.monotonicMs()
  const controller = new AbortController()
  const p = env.timers.sleep(10_000, { signal: controller.signal })
  controller.abort()
  await assert.rejects(p, { name: 'AbortedError' })
  assert.ok(env.clock.monotonicMs() - start < 1000)
  assert.ok(Math.abs(env.clock.wallMs() - Date.now()) < 1000)
})

test('the JSON logger writes one object per line with bindings, levels filtered', () => {
  const lines: string[] = []
  const env = new ManualEnvironment()
  const log = new JsonLogger((l) => lines.push(l), env.clock, 'info').child({ node: 'n1' })
  log.debug('hidden')
  log.warn('careful', { error: new RangeError('bad'), n: 1 })
  assert.equal(lines.length, 1)
  const record = JSON.parse(lines[0]!)
  assert.deepEqual(record, { t: env.clock.wallMs(), level: 'warn', msg: 'careful', node: 'n1', error: { name: 'RangeError', message: 'bad' }, n: 1 })
})
