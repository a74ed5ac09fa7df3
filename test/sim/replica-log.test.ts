// Goal: the simulated replica log keeps the port's promises (contiguous entries, cut, compaction,
// reset, cluster id, poisoning) and shows each disk fault: process crash vs power loss (lost or
// torn unsynced writes; resolved writes always durable), a disk that stays broken until restart,
// and a disk that fills up.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { applyFault, healAll } from '../../sim/faults/apply.js'
import { drawSchedule, planFaults } from '../../sim/faults/schedule.js'
import type { ReplicaImage } from '../../sim/services/replica-log.js'
import { World, type NodeContext } from '../../sim/world.js'
import { SeededRandom } from '../../src/env/prng.js'
import { ClusterMismatchError, ReplicaLogFailedError } from '../../src/storage/errors.js'
import type { ReplicaEntry, ReplicaLog } from '../../src/storage/types.js'
import { appendOffset } from '../../protocols/replication/offsets.js'
import { replicaLogSuite } from '../storage/replica-log.suite.js'
import { bytes, runUntil } from './helpers.js'

function world(seed = 7): World<NodeContext> {
  const w = new World<NodeContext>(seed, 1, (ctx) => ctx)
  w.start(w.node('n0'))
  return w
}

function settle<T>(promise: Promise<T>): { done: boolean; value?: T; error?: Error } {
  const out: { done: boolean; value?: T; error?: Error } = { done: false }
  promise.then(
    (v) => Object.assign(out, { done: true, value: v }),
    (e: Error) => Object.assign(out, { done: true, error: e }),
  )
  return out
}

const entries = (from: number, epoch: number, ...texts: string[]): ReplicaEntry[] =>
  texts.map((t, i) => ({ index: from + i, epoch, offset: appendOffset(from + i), payloads: [bytes(t)] }))
const texts = (es: readonly ReplicaEntry[]): string[] => es.map((e) => `${e.index}@${e.epoch}:${e.payloads.map((p) => new TextDecoder().decode(p)).join(',')}`)
const imageTexts = (image: ReplicaImage): string[] => texts(image.entries)

/** Opens n0's log at the current time and runs `ms` of virtual time. */
async function open(w: World<NodeContext>, atMs: number): Promise<ReplicaLog> {
  await runUntil(w, atMs)
  const opened = settle(w.node('n0').app!.replicaLog.open())
  await runUntil(w, atMs + 1)
  assert.ok(opened.done && opened.error === undefined, String(opened.error))
  return opened.value!
}

/** Runs `promise` to completion within 50 ms of virtual time. */
async function done<T>(w: World<NodeContext>, promise: Promise<T>): Promise<T> {
  const out = settle(promise)
  await runUntil(w, w.nowMs + 50)
  assert.ok(out.done, 'operation did not complete')
  if (out.error !== undefined) throw out.error
  return out.value!
}

test('writes, cuts, reads, compaction, reset and the cluster id behave as the port says', async () => {
  const w = world()
  const log = await open(w, 1)
  assert.deepEqual(log.state(), { clusterId: undefined, start: 0, end: 0, lastEpoch: 0 })
  await done(w, log.setClusterId('c1'))
  await done(w, log.write(0, entries(0, 1, 'a', 'b', 'c')))
  await done(w, log.write(2, entries(2, 2, 'C', 'D')))
  assert.deepEqual(log.state(), { clusterId: 'c1', start: 0, end: 4, lastEpoch: 2 })
  assert.deepEqual(texts(await done(w, log.read(0, 10, 1 << 20))), ['0@1:a', '1@1:b', '2@2:C', '3@2:D'])
  assert.deepEqual(texts(await done(w, log.read(1, 2, 1 << 20))), ['1@1:b', '2@2:C'])
  assert.deepEqual(texts(await done(w, log.read(1, 10, 0))), ['1@1:b'], 'always at least one entry')
  assert.deepEqual(texts(await done(w, log.read(4, 10, 100))), [])
  await done(w, log.compact(2))
  assert.deepEqual(log.state(), { clusterId: 'c1', start: 2, end: 4, lastEpoch: 2 })
  assert.equal(log.epochAt(1), 1, 'the epoch below start is remembered')
  assert.equal(log.epochAt(0), undefined)
  assert.equal(log.epochAt(3), 2)
  await assert.rejects(log.read(1, 10, 100), { name: 'InvalidArgumentError' })
  await assert.rejects(log.write(5, entries(5, 2, 'x')), { name: 'InvalidArgumentError' })
  await assert.rejects(log.write(4, entries(4, 1, 'older epoch')), { name: 'InvalidArgumentError' })
  await done(w, log.compact(4))
  assert.deepEqual(log.state(), { clusterId: 'c1', start: 4, end: 4, lastEpoch: 2 })
  await done(w, log.reset(10, 5))
  assert.deepEqual(log.state(), { clusterId: 'c1', start: 10, end: 10, lastEpoch: 5 })
  assert.equal(log.epochAt(9), 5)
  await done(w, log.setClusterId('c1'))
  await assert.rejects(log.setClusterId('c2'), ClusterMismatchError)
  assert.equal(log.state().clusterId, 'c1', 'a mismatch neither changes nor poisons the log')
  await done(w, log.write(10, entries(10, 6, 'k')))
  assert.equal(log.state().end, 11)
})

test('one open instance at a time per incarnation; a closed instance rejects every call', async () => {
  const w = world()
  const log = await open(w, 1)
  await assert.rejects(w.node('n0').app!.replicaLog.open(), ReplicaLogFailedError)
  await log.close()
  await assert.rejects(log.read(0, 1, 1), ReplicaLogFailedError)
  await open(w, 2)
})

test('a resolved write survives a crash; a write in flight at a process crash lands whole if it was written, else vanishes', async () => {
  const outcomes = new Set<string>()
  for (let delayUs = 0; delayUs <= 3000; delayUs += 100) {
    const w = world(delayUs)
    const log = await open(w, 1)
    await done(w, log.write(0, entries(0, 1, 'a', 'b')))
    const startUs = w.kernel.now
    const inFlight = settle(log.write(1, entries(1, 2, 'B', 'C')))
    await w.kernel.run(
      startUs + delayUs,
      () => true,
      (e) => {
        throw e
      },
    )
    const node = w.node('n0')
    w.crash(node)
    const image = node.disk.replica.image()
    const got = imageTexts(image).join(' ')
    if (inFlight.done) {
      assert.equal(got, '0@1:a 1@2:B 2@2:C', 'a resolved write is durable')
      outcomes.add('resolved')
    } else {
      assert.ok(got === '0@1:a 1@1:b' || got === '0@1:a 1@2:B 2@2:C', `process crash leaves all or nothing, got ${got}`)
      outcomes.add(got === '0@1:a 1@1:b' ? 'vanished' : 'written-unsynced-kept')
    }
    w.start(node)
    const reopened = await open(w, w.nowMs + 1)
    assert.deepEqual(imageTexts(node.disk.replica.image()), texts(await done(w, reopened.read(0, 10, 1 << 20))))
  }
  assert.deepEqual([...outcomes].sort(), ['resolved', 'vanished', 'written-unsynced-kept'])
})

test('a power loss loses the unsynced write or leaves a torn prefix of it, never a resolved one', async () => {
  const outcomes = new Set<string>()
  for (let seed = 0; seed < 120; seed++) {
    const w = world(seed)
    const log = await open(w, 1)
    await done(w, log.write(0, entries(0, 1, 'a', 'b', 'c')))
    const startUs = w.kernel.now
    const inFlight = settle(log.write(1, entries(1, 2, 'B', 'C', 'D')))
    await w.kernel.run(
      startUs + (seed % 25) * 100,
      () => true,
      (e) => {
        throw e
      },
    )
    applyFault(w, { atMs: w.nowMs, kind: 'power-loss', node: 'n0' })
    assert.equal(w.node('n0').owner.status, 'crashed')
    const got = imageTexts(w.node('n0').disk.replica.image())
    const full = ['0@1:a', '1@2:B', '2@2:C', '3@2:D']
    if (inFlight.done) {
      assert.deepEqual(got, full)
      outcomes.add('resolved')
    } else if (got.join() === ['0@1:a', '1@1:b', '2@1:c'].join()) {
      outcomes.add('lost')
    } else {
      assert.deepEqual(got, full.slice(0, got.length), `a torn write leaves its cut and a prefix of its entries, got ${got.join(' ')}`)
      outcomes.add(got.length === 4 ? 'unsynced-kept' : 'torn')
    }
  }
  for (const outcome of ['resolved', 'lost', 'torn']) assert.ok(outcomes.has(outcome), `outcome ${outcome} never happened: ${[...outcomes].join(', ')}`)
})

test('a broken disk fails every call, opens included, until the node restarts; then the log is intact', async () => {
  const w = world(3)
  const log = await open(w, 1)
  await done(w, log.write(0, entries(0, 1, 'a', 'b')))
  const inFlight = settle(log.write(2, entries(2, 1, 'c')))
  applyFault(w, { atMs: w.nowMs, kind: 'disk-broken', node: 'n0' })
  await runUntil(w, w.nowMs + 50)
  assert.ok(inFlight.error instanceof ReplicaLogFailedError, 'the write in flight fails')
  assert.equal((inFlight.error.cause as { code?: string }).code, 'EIO')
  await assert.rejects(log.read(0, 10, 100), ReplicaLogFailedError)
  await log.close()
  await assert.rejects(w.node('n0').app!.replicaLog.open(), ReplicaLogFailedError, 'reopening in the same incarnation fails too')
  assert.equal(w.node('n0').disk.replica.broken, true)
  healAll(w)
  assert.equal(w.node('n0').disk.replica.broken, false, 'the final heal restarts a node with a broken disk')
  const reopened = await open(w, w.nowMs + 1)
  const got = texts(await done(w, reopened.read(0, 10, 1 << 20)))
  assert.ok(got.join(' ') === '0@1:a 1@1:b' || got.join(' ') === '0@1:a 1@1:b 2@1:c', `intact up to the last durable write, got ${got.join(' ')}`)
  await done(w, reopened.write(reopened.state().end, entries(reopened.state().end, 2, 'after')))
})

test('a full disk fails writes with ENOSPC and poisons the instance; compaction still works; space comes back', async () => {
  const w = world(4)
  const log = await open(w, 1)
  await done(w, log.write(0, entries(0, 1, 'a', 'b', 'c')))
  applyFault(w, { atMs: w.nowMs, kind: 'disk-full', node: 'n0', forMs: 1000 })
  const failed = settle(log.write(3, entries(3, 1, 'd')))
  await runUntil(w, w.nowMs + 1)
  assert.ok(failed.error instanceof ReplicaLogFailedError)
  assert.equal((failed.error.cause as { code?: string }).code, 'ENOSPC')
  await assert.rejects(log.compact(1), ReplicaLogFailedError, 'poisoned after a failed mutation')
  await log.close()
  const reopened = await open(w, w.nowMs + 1)
  assert.deepEqual(reopened.state(), { clusterId: undefined, start: 0, end: 3, lastEpoch: 1 })
  await done(w, reopened.compact(2))
  assert.equal(reopened.state().start, 2)
  await assert.rejects(reopened.reset(5, 1), (e: Error) => e instanceof ReplicaLogFailedError && (e.cause as { code?: string }).code === 'ENOSPC')
  await reopened.close()
  await runUntil(w, w.nowMs + 1000)
  assert.equal(w.node('n0').disk.replica.full, false, 'space frees after forMs')
  const third = await open(w, w.nowMs + 1)
  await done(w, third.write(3, entries(3, 1, 'd')))
  assert.deepEqual(third.state(), { clusterId: undefined, start: 2, end: 4, lastEpoch: 1 })
})

test('schedules with disk faults pair each with the restart that heals it', () => {
  const random = new SeededRandom(11)
  const plan = planFaults(['power-loss', 'disk-broken', 'disk-full'], 5, false, random)
  const actions = drawSchedule(plan, ['n0', 'n1', 'n2', 'n3', 'n4'], [], 3_000_000, random)
  for (const kind of ['power-loss', 'disk-broken', 'disk-full'] as const)
    assert.ok(
      actions.some((a) => a.kind === kind),
      `no ${kind} drawn`,
    )
  for (const action of actions) {
    if (action.kind === 'power-loss') assert.ok(actions.some((a) => a.kind === 'restart' && a.node === action.node && a.atMs > action.atMs))
    if (action.kind === 'disk-broken') {
      const crash = actions.find((a) => a.kind === 'crash' && a.node === action.node && a.atMs >= action.atMs)
      assert.ok(crash !== undefined && actions.some((a) => a.kind === 'restart' && a.node === action.node && a.atMs > crash.atMs))
    }
  }
})

/** Runs the simulator until `promise` settles, so the contract suite can await simulated calls. */
function pumped(w: World<NodeContext>, log: ReplicaLog): ReplicaLog {
  const pump = async <T>(promise: Promise<T>): Promise<T> => {
    const out = settle(promise)
    for (let i = 0; i < 100 && !out.done; i++) await runUntil(w, w.nowMs + 5)
    if (out.error !== undefined) throw out.error
    assert.ok(out.done, 'a simulated call never settled')
    return out.value!
  }
  return {
    state: () => log.state(),
    epochAt: (index) => log.epochAt(index),
    setClusterId: (id) => pump(log.setClusterId(id)),
    write: (from, es) => pump(log.write(from, es)),
    read: (from, max, maxBytes) => pump(log.read(from, max, maxBytes)),
    compact: (index) => pump(log.compact(index)),
    reset: (start, prevEpoch) => pump(log.reset(start, prevEpoch)),
    close: () => pump(log.close()),
  }
}

const worlds = new WeakMap<ReplicaLog, World<NodeContext>>()
replicaLogSuite('the simulated replica log', {
  async setup() {
    const w = world()
    const log = pumped(w, await open(w, 1))
    worlds.set(log, w)
    return log
  },
  async reopen(log) {
    const w = worlds.get(log)!
    await log.close()
    w.crash(w.node('n0'))
    w.start(w.node('n0'))
    const next = pumped(w, await open(w, w.nowMs + 1))
    worlds.set(next, w)
    return next
  },
  teardown: (log) => log.close(),
})
