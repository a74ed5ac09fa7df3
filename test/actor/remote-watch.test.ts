// Goal: the two indexes of cross-node watches (by target node and by watcher; by target path and the
// per-node counts) stay in step, and a step lost by a future bug stops the table instead of leaking
// watches or miscounting a peer's quota. Method: a table used through its methods, then one index
// emptied on purpose through a cast, then the call that relies on it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RemoteWatches, type RemoteWatcher, type WatchMapper } from '../../src/actor/remote-watch.js'

/** The private indexes, as a bug would leave them. */
interface Internals {
  byWatcher: Map<RemoteWatcher, unknown>
  inboundCount: Map<string, number>
}

const watcher: RemoteWatcher = { address: { node: 'self', path: '/user/w' } }
const toMessage: WatchMapper = () => ({ type: 'terminated' })

test('both sides of a watch are forgotten together', () => {
  const table = new RemoteWatches<RemoteWatcher>()
  assert.equal(table.addOutbound(watcher, 'n1', '/user/t', toMessage), true)
  assert.equal(table.addInbound('n2', '/user/a', '/user/x'), true)
  assert.equal(table.removeOutbound(watcher, 'n1', '/user/t'), toMessage)
  assert.deepEqual(table.watchedBy(watcher), [])
  table.removeInbound('n2', '/user/a', '/user/x')
  assert.equal(table.inboundTotal(), 0)
})

test('a watch missing from the by-watcher index (cleared on purpose) trips an assertion', () => {
  const table = new RemoteWatches<RemoteWatcher>()
  table.addOutbound(watcher, 'n1', '/user/t', toMessage)
  ;(table as unknown as Internals).byWatcher.clear()
  assert.throws(() => table.removeOutbound(watcher, 'n1', '/user/t'), { name: 'AssertionFailure', message: /a remote watch missing from its watcher index/ })
})

test('a per-node count out of step with the watches (changed on purpose) trips an assertion', () => {
  const lost = new RemoteWatches<RemoteWatcher>()
  lost.addInbound('n2', '/user/a', '/user/x')
  ;(lost as unknown as Internals).inboundCount.clear()
  assert.throws(() => lost.removeInbound('n2', '/user/a', '/user/x'), { name: 'AssertionFailure', message: /remote watch count went negative/ })
  const extra = new RemoteWatches<RemoteWatcher>()
  extra.addInbound('n2', '/user/a', '/user/x')
  ;(extra as unknown as Internals).inboundCount.set('n2', 2)
  assert.throws(() => extra.takeNode('n2'), { name: 'AssertionFailure', message: /watches of a node left behind/ })
})
