// Goal: the one abortable-wait helper (src/env/abort.ts) stops the wait and rejects with
// AbortedError when its signal aborts, leaves no listener behind once the wait settles (also when it
// settles while starting), and never starts a wait for a signal that has already aborted. The
// sleeps of every Environment are built on it, so they are checked through the manual one.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { abortable, sleepOn } from '../../src/env/abort.js'
import { ManualEnvironment } from '../../src/env/manual.js'
import { AbortedError } from '../../src/errors.js'

/** A signal that counts its abort listeners. */
function countingSignal(): { controller: AbortController; listeners: () => number } {
  const controller = new AbortController()
  const signal = controller.signal
  const live = new Set<unknown>()
  const add = signal.addEventListener.bind(signal)
  const remove = signal.removeEventListener.bind(signal)
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    if (args[0] === 'abort') live.add(args[1])
    add(...args)
  }
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    if (args[0] === 'abort') live.delete(args[1])
    remove(...args)
  }
  return { controller, listeners: () => live.size }
}

test('an abort stops the wait and rejects with AbortedError carrying the reason', async () => {
  const { controller, listeners } = countingSignal()
  let stopped = 0
  const waiting = abortable<number>(controller.signal, () => () => stopped++)
  assert.equal(listeners(), 1)
  controller.abort('enough')
  await assert.rejects(waiting, (error: unknown) => error instanceof AbortedError && error.cause === 'enough')
  assert.equal(stopped, 1)
})

test('a wait that settles removes its listener, and a later abort changes nothing', async () => {
  const { controller, listeners } = countingSignal()
  let finish: (value: number) => void = () => {}
  let stopped = 0
  const waiting = abortable<number>(controller.signal, (resolve) => {
    finish = resolve
    return () => stopped++
  })
  finish(7)
  assert.equal(await waiting, 7)
  assert.equal(listeners(), 0)
  controller.abort()
  assert.equal(stopped, 0)

  const failing = abortable<number>(controller.signal, () => () => {})
  await assert.rejects(failing, AbortedError, 'the signal is aborted now')
})

test('a wait that settles while starting adds no listener; an aborted signal starts none', async () => {
  const { controller, listeners } = countingSignal()
  assert.equal(await abortable<string>(controller.signal, (resolve) => (resolve('now'), () => {})), 'now')
  await assert.rejects(
    abortable<string>(controller.signal, (_, reject) => (reject(new Error('at once')), () => {})),
    /at once/,
  )
  assert.equal(listeners(), 0)
  let started = false
  await assert.rejects(
    abortable(AbortSignal.abort('early'), () => ((started = true), () => {})),
    (error: unknown) => error instanceof AbortedError && error.cause === 'early',
  )
  assert.equal(started, false)
})

test('sleepOn cancels its timer on abort, and a sleep without a signal just waits', async () => {
  const env = new ManualEnvironment()
  const controller = new AbortController()
  const sleeping = sleepOn(env.timers, 100, controller.signal)
  assert.equal(env.pendingTimers, 1)
  controller.abort()
  await assert.rejects(sleeping, AbortedError)
  assert.equal(env.pendingTimers, 0, 'the timer is cancelled, not left to fire')
  let woke = false
  void sleepOn(env.timers, 50, undefined).then(() => (woke = true))
  await env.advance(49)
  assert.equal(woke, false)
  await env.advance(1)
  assert.equal(woke, true)
})
