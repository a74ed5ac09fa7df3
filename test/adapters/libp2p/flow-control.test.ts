// Goal: credit flow control bounds what a sender has in flight, catches a peer that overruns its
// credit, and never deadlocks; the outbound queue hands out whole frames within a budget, in order.
// Method: unit cases, and property tests that run a sender, a link and a slow receiver as a model
// with random frame sizes and random consumption order.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ProtocolViolationError } from '../../../src/adapters/libp2p/errors.js'
import { ReceiveWindow, SendCredit } from '../../../src/adapters/libp2p/flow-control.js'
import { DATA_HEADER_BYTES, writeDataHeader } from '../../../src/adapters/libp2p/framing.js'
import { OutboundQueue, SLAB_MIN_BYTES } from '../../../src/adapters/libp2p/outbound-queue.js'

test('the receive window opens with its full size and grants back in quarter-window steps', () => {
  const window = new ReceiveWindow(1000)
  assert.equal(window.open(), 1000)
  window.received(200)
  window.consumed(200)
  assert.equal(window.takeGrant(), 0, 'below a quarter window nothing is granted')
  window.received(100)
  window.consumed(100)
  assert.equal(window.takeGrant(), 300)
  assert.equal(window.takeGrant(), 0)
})

test('a peer that sends beyond its credit is a protocol violation', () => {
  const window = new ReceiveWindow(1000)
  window.open()
  window.received(1000)
  assert.throws(() => window.received(1), ProtocolViolationError)
  const granted = new ReceiveWindow(1000)
  granted.open()
  granted.received(1000)
  granted.consumed(1000)
  assert.equal(granted.takeGrant(), 1000)
  granted.received(1000)
  assert.throws(() => granted.received(1), ProtocolViolationError)
})

test('send credit is spent and granted; an absurd grant is a violation', () => {
  const credit = new SendCredit()
  assert.equal(credit.bytes, 0)
  credit.grant(500)
  credit.spend(200)
  assert.equal(credit.bytes, 300)
  assert.throws(() => credit.spend(301))
  assert.throws(() => credit.grant(0xffffffff), ProtocolViolationError)
})

test('model: a slow receiver bounds bytes in flight by the window, and credit never deadlocks', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 64, max: 4096 }),
      fc.array(fc.integer({ min: 1, max: 1 << 20 }), { minLength: 1, maxLength: 300 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 50 }),
      (windowBytes, rawSizes, slowness) => {
        // Every frame at most half a window: the condition the network's settings enforce.
        const sizes = rawSizes.map((s) => 1 + (s % Math.floor(windowBytes / 2)))
        const credit = new SendCredit()
        const window = new ReceiveWindow(windowBytes)
        credit.grant(window.open())
        const link: number[] = []
        let next = 0
        let inFlight = 0
        let consumed = 0
        for (let step = 0; consumed < sizes.length; step++) {
          assert.ok(step < sizes.length * 10 + 100, `stalled after ${consumed} of ${sizes.length} frames`)
          while (next < sizes.length && credit.bytes >= sizes[next]!) {
            credit.spend(sizes[next]!)
            link.push(sizes[next]!)
            inFlight += sizes[next]!
            next++
          }
          assert.ok(inFlight <= windowBytes, `in flight ${inFlight} > window ${windowBytes}`)
          // A slow receiver handles one frame on slow steps and everything on the others.
          const handle = slowness[step % slowness.length]! ? Math.min(1, link.length) : link.length
          let chunk = 0
          for (let i = 0; i < handle; i++) {
            const size = link.shift()!
            window.received(size)
            chunk += size
            inFlight -= size
            consumed++
          }
          window.consumed(chunk)
          const grant = window.takeGrant()
          if (grant > 0) credit.grant(grant)
        }
      },
    ),
    { numRuns: 300 },
  )
})

function frameOf(payloadBytes: number, fill: number): Uint8Array {
  const frame = new Uint8Array(DATA_HEADER_BYTES + payloadBytes).fill(fill)
  writeDataHeader(frame, 0, fill, payloadBytes)
  return frame
}

function enqueue(queue: OutboundQueue, frame: Uint8Array): void {
  const offset = queue.reserve(frame.length)
  queue.buffer.set(frame, offset)
}

test('the outbound queue hands out whole frames only, never more than the budget', () => {
  const queue = new OutboundQueue(64)
  const frames = [frameOf(10, 1), frameOf(30, 2), frameOf(100, 3), frameOf(5, 4)]
  for (const f of frames) enqueue(queue, f)
  assert.equal(
    queue.bytes,
    frames.reduce((n, f) => n + f.length, 0),
  )
  assert.deepEqual(queue.take(16), [], 'the first frame does not fit')
  const first = queue.take(60)
  assert.deepEqual(Buffer.concat(first), Buffer.concat([frames[0]!, frames[1]!]))
  const rest = queue.take(10_000)
  assert.deepEqual(Buffer.concat(rest), Buffer.concat([frames[2]!, frames[3]!]))
  assert.equal(queue.bytes, 0)
  assert.deepEqual(queue.take(10_000), [])
})

test('bytes handed out are never overwritten by later frames', () => {
  const queue = new OutboundQueue(32)
  enqueue(queue, frameOf(5, 7))
  const [handed] = queue.take(100)
  const snapshot = Buffer.from(handed!)
  for (let i = 0; i < 20; i++) enqueue(queue, frameOf(3, 9))
  assert.deepEqual(Buffer.from(handed!), snapshot)
})

test('slabs grow while frames pile up and shrink back once the queue drains', () => {
  const queue = new OutboundQueue(64 * 1024)
  const sizes: number[] = []
  const frame = frameOf(1000, 1)
  for (let i = 0; i < 100; i++) {
    enqueue(queue, frame)
    if (sizes.at(-1) !== queue.buffer.length) sizes.push(queue.buffer.length)
  }
  assert.deepEqual(sizes, [SLAB_MIN_BYTES, 2 * SLAB_MIN_BYTES, 4 * SLAB_MIN_BYTES, 8 * SLAB_MIN_BYTES, 16 * SLAB_MIN_BYTES])
  const handed = Buffer.concat(queue.take(1 << 20))
  assert.equal(handed.length, 100 * frame.length)
  assert.equal(queue.bytes, 0)
  enqueue(queue, frameOf(10, 2))
  assert.equal(queue.buffer.length, SLAB_MIN_BYTES, 'a drained queue starts again from the least slab')
  enqueue(queue, frameOf(SLAB_MIN_BYTES * 3, 3))
  assert.equal(queue.buffer.length, SLAB_MIN_BYTES * 3 + DATA_HEADER_BYTES, 'a frame larger than the next slab gets a slab of its own size')
  assert.deepEqual(Buffer.concat(queue.take(1 << 20)), Buffer.concat([frameOf(10, 2), frameOf(SLAB_MIN_BYTES * 3, 3)]))
})

test('clear drops everything queued and reports the bytes', () => {
  const queue = new OutboundQueue(16)
  for (let i = 0; i < 5; i++) enqueue(queue, frameOf(8, i))
  assert.equal(queue.clear(), 5 * 15)
  assert.equal(queue.bytes, 0)
  assert.deepEqual(queue.take(1000), [])
})

test('property: any budgets return the queued frames whole, in order, byte for byte', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 8, max: 256 }),
      fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }),
      fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 40 }),
      (slabBytes, payloads, budgets) => {
        const queue = new OutboundQueue(slabBytes)
        const frames = payloads.map((p, i) => frameOf(p, i % 256))
        const out: Uint8Array[] = []
        let nextFrame = 0
        for (let round = 0; nextFrame < frames.length || queue.bytes > 0; round++) {
          if (nextFrame < frames.length) enqueue(queue, frames[nextFrame++]!)
          const budget = round < budgets.length * 4 ? budgets[round % budgets.length]! : Number.MAX_SAFE_INTEGER
          const before = queue.bytes
          const taken = queue.take(budget)
          const takenBytes = taken.reduce((n, t) => n + t.length, 0)
          assert.ok(takenBytes <= budget)
          assert.equal(queue.bytes, before - takenBytes)
          out.push(...taken)
        }
        assert.deepEqual(Buffer.concat(out), Buffer.concat(frames))
      },
    ),
    { numRuns: 300 },
  )
})
