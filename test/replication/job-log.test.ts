// Goal: the replicated JobLog session on three simulated nodes keeps the JobLog port's promises: fence and append fence lower epochs, appends resolve once committed with their first offset, reads return only committed records (no no-ops) by index, compaction moves the start on the leader and its followers, and a new leader after the old one crashes reads every committed record.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { World } from '../../sim/world.js'
import { assembleNode, type AssembledNode } from '../../src/node/assemble.js'
import { ReplicatedJobLogSession } from '../../src/replication/job-log.js'
import type { ReplicatedLogRequest } from '../../src/replication/protocol.js'
import { InvalidArgumentError } from '../../src/errors.js'
import { FencedError } from '../../src/storage/errors.js'
import { runUntil } from '../sim/helpers.js'
import { appendIndexOf, OFFSET_STRIDE } from '../../protocols/replication/offsets.js'

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

function cluster(seed: number): World<AssembledNode> {
  const world = new World<AssembledNode>(seed, 3, (ctx) =>
    assembleNode(
      { env: ctx.env, network: ctx.network, store: ctx.store, jobLog: 'replicated', replicaLog: ctx.replicaLog, cache: ctx.cache },
      { founder: ctx.id === 'n0', jobs: [] },
    ),
  )
  for (const node of world.nodes) world.start(node)
  return world
}

function leaderOf(world: World<AssembledNode>): { id: string; epoch: number; session: ReplicatedJobLogSession } {
  for (const node of world.nodes) {
    const epoch = node.app?.cluster.leaderEpoch()
    if (epoch !== undefined) return { id: node.id, epoch, session: new ReplicatedJobLogSession(node.app!.system.ref<ReplicatedLogRequest>(`dx://${node.id}/system/replicator`)) }
  }
  throw new Error('no leader')
}

/** Runs the world until `promise` settles (or `ms` pass) and returns its outcome. */
async function settle<T>(world: World<AssembledNode>, promise: Promise<T>, ms = 3000): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  )
  const until = world.nowMs + ms
  while (outcome === undefined && world.nowMs < until) await runUntil(world, world.nowMs + 10)
  assert.ok(outcome !== undefined, 'settled in time')
  return outcome
}

async function value<T>(world: World<AssembledNode>, promise: Promise<T>): Promise<T> {
  const o = await settle(world, promise)
  if (!o.ok) throw o.error
  return o.value
}

test('fence, append, read and compact keep the JobLog promises; a new leader reads what was committed', async () => {
  const world = cluster(7)
  await runUntil(world, 4000)
  const first = leaderOf(world)
  const log = first.session
  await value(world, log.fence(first.epoch))
  const stale = await settle(world, log.fence(first.epoch - 1))
  assert.ok(!stale.ok && stale.error instanceof FencedError, 'a lower epoch is fenced')
  const staleAppend = await settle(world, log.append(first.epoch - 1, [text('x')]))
  assert.ok(!staleAppend.ok && staleAppend.error instanceof FencedError, 'an append of a lower epoch is fenced')
  const empty = await settle(world, log.append(first.epoch, [new Uint8Array(0)]))
  assert.ok(!empty.ok && empty.error instanceof InvalidArgumentError, 'empty records are refused')

  const a = await value(world, log.append(first.epoch, [text('a'), text('b')]))
  const c = await value(world, log.append(first.epoch, [text('c')]))
  assert.equal(a % OFFSET_STRIDE, 0, 'an append starts at its entry index times the stride')
  assert.equal(c, a + OFFSET_STRIDE, 'one entry per append: the next append starts at the next entry')
  const end = await value(world, log.endOffset())
  assert.equal(end, c + OFFSET_STRIDE, 'endOffset is the offset of an append at the commit index')
  const records = await value(world, log.read(0, 100))
  assert.deepEqual(
    records.map((r) => [r.offset, new TextDecoder().decode(r.payload)]),
    [
      [a, 'a'],
      [a + 1, 'b'],
      [c, 'c'],
    ],
    'only committed records, no no-ops; records of one append have consecutive offsets',
  )
  assert.deepEqual(
    (await value(world, log.read(a + 1, 100))).map((r) => r.offset),
    [a + 1, c],
    'a read from within an append starts at that record',
  )
  assert.deepEqual(
    (await value(world, log.read(a + 2, 1))).map((r) => r.offset),
    [c],
    "a read past an append's last record (a reader's last offset + 1) goes on to the next append",
  )
  for (const node of world.nodes) {
    const image = node.disk.replica.image()
    assert.ok(image.start + image.entries.length >= appendIndexOf(end) || node.id === first.id, `${node.id} holds the committed entries`)
  }

  await value(world, log.compact(c))
  assert.equal(await value(world, log.startOffset()), c)
  await value(world, log.append(first.epoch, [text('d')]))
  await runUntil(world, world.nowMs + 500)
  const starts = world.nodes.map((n) => n.disk.replica.image().start)
  assert.ok(starts.filter((s) => s === appendIndexOf(c)).length >= 2, `a majority compacted to entry ${appendIndexOf(c)}: ${starts.join(',')}`)

  world.crash(world.node(first.id))
  await runUntil(world, world.nowMs + 6000)
  const second = leaderOf(world)
  assert.notEqual(second.id, first.id)
  assert.ok(second.epoch > first.epoch)
  await value(world, second.session.fence(second.epoch))
  const start = await value(world, second.session.startOffset())
  const after = await value(world, second.session.read(start, 100))
  assert.deepEqual(
    after.map((r) => new TextDecoder().decode(r.payload)),
    ['c', 'd'],
    'the new leader holds every committed record from its start',
  )
  const late = await settle(world, log.append(first.epoch, [text('late')]))
  assert.ok(!late.ok, 'the dead leader accepts nothing')
})
