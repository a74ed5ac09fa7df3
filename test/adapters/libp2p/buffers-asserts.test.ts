// Goal: a mesh stream's credit and outbound buffers stop on a caller's bug (spending credit it does
// not have, consuming frames never received, opening a window twice, bad sizes, empty frames)
// rather than corrupting the stream's accounting. Method: each call with the wrong argument or order.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReceiveWindow, SendCredit } from '../../../src/adapters/libp2p/flow-control.js'
import { CREDIT_MAX_BYTES } from '../../../src/adapters/libp2p/framing.js'
import { OutboundQueue } from '../../../src/adapters/libp2p/outbound-queue.js'

test('credit is spent only as far as it was granted', () => {
  const credit = new SendCredit()
  credit.grant(100)
  credit.spend(60)
  assert.throws(() => credit.spend(41), { name: 'AssertionFailure', message: /spending 41 bytes of credit with 40 available/ })
  assert.throws(() => credit.spend(-1), { name: 'AssertionFailure', message: /bytes of credit with/ })
  assert.equal(credit.bytes, 40)
})

test('a receive window has a sane size, opens once and consumes no more than it received', () => {
  for (const bad of [0, 1.5, CREDIT_MAX_BYTES + 1]) assert.throws(() => new ReceiveWindow(bad), { name: 'AssertionFailure', message: /bad window/ })
  const window = new ReceiveWindow(100)
  assert.equal(window.open(), 100)
  assert.throws(() => window.open(), { name: 'AssertionFailure', message: /window opened twice/ })
  window.received(30)
  window.consumed(30)
  assert.throws(() => window.consumed(1), { name: 'AssertionFailure', message: /consumed more than was received/ })
})

test('the outbound queue takes whole slabs and non-empty frames', () => {
  for (const bad of [0, 2.5]) assert.throws(() => new OutboundQueue(bad), { name: 'AssertionFailure', message: /bad slab size/ })
  const queue = new OutboundQueue(64)
  assert.throws(() => queue.reserve(0), { name: 'AssertionFailure', message: /empty frame/ })
  assert.equal(queue.bytes, 0)
})
