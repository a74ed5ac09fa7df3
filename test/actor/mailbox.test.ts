// Goal: mailboxes are bounded; overflow follows the documented policy and never loses a message silently.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defineActor } from '../../src/actor/define.js'
import type { DeadLetter } from '../../src/actor/dead-letters.js'
import type { Ask } from '../../src/actor/types.js'
import { Mailbox } from '../../src/actor/mailbox.js'
import { gate, manualSystem, outcome } from '../helpers/system.js'

type Slow = { type: 'hold' } | { type: 'n'; n: number } | Ask<{ type: 'q'; n: number }, number>

function slow(release: Promise<void>, seen: number[]) {
  return defineActor<Slow>({
    setup: () => ({
      hold: () => release,
      n: (m) => void seen.push(m.n),
      q: (m) => m.n,
    }),
  })
}

test('reject policy: a full mailbox refuses new messages into dead letters, asks get MailboxFullError', async () => {
  const { env, system } = manualSystem()
  const release = gate()
  const seen: number[] = []
  const letters: DeadLetter[] = []
  system.deadLetters.subscribe((l) => letters.push(l))
  const ref = system.spawn(slow(release.promise, seen), { name: 'slow', mailbox: { capacity: 3 } })
  ref.tell({ type: 'hold' })
  await env.flush()
  for (let n = 0; n < 5; n++) ref.tell({ type: 'n', n })
  await assert.rejects(ref.ask({ type: 'q', n: 9 }, { timeoutMs: 100 }), { name: 'MailboxFullError', code: 'ERR_MAILBOX_FULL', capacity: 3 })
  release.open()
  await env.flush()
  assert.deepEqual(seen, [0, 1, 2])
  assert.deepEqual(
    letters.map((l) => [l.reason, (l.message as { n: number }).n, l.recipient]),
    [
      ['mailbox-full', 3, 'dx://node-a/user/slow'],
      ['mailbox-full', 4, 'dx://node-a/user/slow'],
      ['mailbox-full', 9, 'dx://node-a/user/slow'],
    ],
  )
})

test('drop-oldest policy: the oldest queued message is evicted to make room', async () => {
  const { env, system } = manualSystem()
  const release = gate()
  const seen: number[] = []
  const ref = system.spawn(slow(release.promise, seen), { mailbox: { capacity: 3, overflow: 'drop-oldest' } })
  ref.tell({ type: 'hold' })
  await env.flush()
  const evicted = outcome(ref.ask({ type: 'q', n: 100 }, { timeoutMs: 100 }))
  for (let n = 0; n < 5; n++) ref.tell({ type: 'n', n })
  release.open()
  await env.flush()
  assert.deepEqual(seen, [2, 3, 4])
  assert.equal((evicted.error as Error).name, 'MailboxFullError')
  assert.equal(system.deadLetters.countOf('mailbox-full'), 3)
})

test('the dead-letter counter is exported as a metric by reason', async () => {
  const { env, system } = manualSystem()
  const release = gate()
  const ref = system.spawn(slow(release.promise, []), { mailbox: { capacity: 1 } })
  ref.tell({ type: 'hold' })
  await env.flush()
  ref.tell({ type: 'n', n: 1 })
  ref.tell({ type: 'n', n: 2 })
  assert.equal(env.metrics.read('dx_actor_dead_letters_total', { reason: 'mailbox-full' }), 1)
  assert.equal(env.metrics.read('dx_actor_queued_messages'), 1)
  release.open()
})

test('a capacity that is not a positive integer is refused', () => {
  const { system } = manualSystem()
  assert.throws(() => system.spawn(slow(Promise.resolve(), []), { mailbox: { capacity: 0 } }), { name: 'InvalidArgumentError' })
})

test('the ring buffer keeps FIFO order across growth and wrap-around', () => {
  const box = new Mailbox(1000)
  const out: number[] = []
  let next = 0
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 37; i++) assert.equal(box.push(next++, undefined), true)
    for (let i = 0; i < 23; i++) out.push(box.shift() as number)
  }
  while (box.size > 0) out.push(box.shift() as number)
  assert.deepEqual(
    out,
    Array.from({ length: next }, (_, i) => i),
  )
  for (let i = 0; i < 1000; i++) box.push(i, undefined)
  assert.equal(box.push(1000, undefined), false)
})

test('senders stay paired with their messages across growth and wrap-around', () => {
  const box = new Mailbox(1000)
  const out: string[] = []
  let next = 0
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 29; i++, next++) box.push(next, undefined, next % 3 === 0 ? undefined : `node-${next}`)
    for (let i = 0; i < 17; i++) out.push(`${String(box.shift())}:${box.shiftedSender ?? 'local'}`)
  }
  while (box.size > 0) out.push(`${String(box.shift())}:${box.shiftedSender ?? 'local'}`)
  assert.deepEqual(
    out,
    Array.from({ length: next }, (_, i) => `${i}:${i % 3 === 0 ? 'local' : `node-${i}`}`),
  )
})
